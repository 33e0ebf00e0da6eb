"""Real-time streams (docs/BENCHMARKS.md, "Real-time streams"): dynamic sequences reconstructed
frame by frame, the settings that trade quality for time, and the running daemon's rate.

    python3 benchmarks/realtime.py --lpnd .build/release/lpnd --part table
        `lpnd bench stream` (one stream, one worker, offline) over the settings of the MRI
        pipelines: symmetry, padding, warm start and its iteration count, threads; the same
        sequence for every row, so the PSNR columns compare.
    python3 benchmarks/realtime.py --lpnd .build/release/lpnd --part threads [--other-lpnd OLD]
        The shipped -stream pipelines offline at 1 and 2 frame threads (`lpnd bench stream`,
        interleaved sequence), each cell the median of --repeats runs taken in turn, so a
        drifting host moves every column alike; with --other-lpnd, another build of lpnd in
        the same rounds (e.g. an older commit), as a ratio.
    python3 benchmarks/realtime.py --lpnd .build/release/lpnd --part daemon
        `lpnd run` with the real-time pipeline (mri-4x-stream, mri-brain-4x-stream) and
        `workers: auto`, `lpnd send --dynamic --rate R` pushing the sequence over PULL, and this
        script's own pyzmq SUB on the PUB socket recording every frame's latency and PSNR; then
        the same frames offline with the quality pipeline (mri-4x, mri-brain-4x: dihedral, up to
        30 iterations, cold start), for the quality comparison.

Sequences: a generated phantom (lpnd's own generator) at 128x128 and a real T1 brain slice
(dipy's t1_coronal_slice, the held-out real scan of docs/RESULTS.md; needs dipy and nibabel)
at 256x256, moving and deforming as `lpnd send --dynamic` makes them, sampled 4x with
interleaved or golden-ratio lines per frame. Each pipeline is run without its `check`
(measured separately in docs/RESULTS.md).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import LPND, PIPELINES, Runner, daemon_config, variant
from lpnd_client import ErrorEvent, Frame, MeasurementSender, OutputReceiver, handshake

# The quality pipelines (dihedral, up to 30 iterations, cold start) as shipped: the baseline rows.
BEFORE = {}


def brain_folder(tmp: str, size: int) -> str:
    """A folder holding dipy's T1 coronal slice at `size` (the sequence's base image)."""
    import data as datasets
    image = datasets.mri_heldout(size)[0 if size == 256 else 3]
    folder = os.path.join(tmp, f"brain{size}")
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "t1.npy"), image.astype(np.float32))
    return folder


def bench_stream(lpnd: Runner, pipeline, frames, sampling, images=None, threads=1):
    return lpnd.json("bench", "stream", "--pipeline", pipeline, "--frames", str(frames), "--sampling", sampling,
                     "--threads", str(threads), "--json", *(["--images", images] if images else []))


def table(a, lpnd: Runner):
    tmp = lpnd.work
    sequences = {"mri-4x": (os.path.join(PIPELINES, "mri-4x.yaml"), None, a.frames),
                 "mri-brain-4x": (os.path.join(PIPELINES, "mri-brain-4x.yaml"), "brain256", max(9, a.frames // 2))}
    warm = {"solver.warm_start": True, "solver.warm_start_ratio": 10}
    rows = {
        "mri-4x": [
            ("mri-4x as shipped: dihedral, cold, ≤ 30 it", BEFORE, 1),
            ("symmetry none, cold, ≤ 30 it", {"prior.symmetry": "none"}, 1),
            ("dihedral, warm, 3 it", {**warm, "prior.symmetry": "dihedral", "solver.warm_iterations": 3}, 1),
            ("flips, warm, 3 it", {**warm, "prior.symmetry": "flips", "solver.warm_iterations": 3}, 1),
            ("mirror, warm, 3 it", {**warm, "prior.symmetry": "mirror", "solver.warm_iterations": 3}, 1),
            ("mirror, warm, 3 it, 2 threads", {**warm, "prior.symmetry": "mirror", "solver.warm_iterations": 3}, 2),
            ("none, warm, 1 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 1}, 1),
            ("none, warm, 2 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 2}, 1),
            ("none, warm, 3 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 3}, 1),
            ("none, warm, 3 it, 2 threads", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 3}, 2),
            ("none, warm, 5 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 5}, 1),
            ("none, warm, 8 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 8}, 1),
            ("none, warm, 3 it, reflect padding", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 3,
                                                   "prior.padding": "reflect"}, 1),
            ("none, warm, 3 it, circular padding", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 3,
                                                    "prior.padding": "circular"}, 1),
            ("mri-4x-stream as shipped", "stream", 1),
        ],
        "mri-brain-4x": [
            ("mri-brain-4x as shipped: dihedral, cold, ≤ 30 it", BEFORE, 1),
            ("symmetry none, cold, ≤ 30 it", {"prior.symmetry": "none"}, 1),
            ("mirror, warm, 3 it, 2 threads", {**warm, "prior.symmetry": "mirror", "solver.warm_iterations": 3}, 2),
            ("none, warm, 2 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 2}, 1),
            ("none, warm, 3 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 3}, 1),
            ("none, warm, 3 it, 2 threads", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 3}, 2),
            ("none, warm, 5 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 5}, 1),
            ("none, warm, 6 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 6}, 1),
            ("none, warm, 8 it", {**warm, "prior.symmetry": "none", "solver.warm_iterations": 8}, 1),
            ("mri-brain-4x-stream as shipped", "stream", 1),
        ],
    }
    samplings = a.samplings.split(",")
    print(f"| pipeline | setting | threads | {' | '.join(f'{s}: frames/s, it, PSNR' for s in samplings)} |")
    print("|---|---|---:|" + "---:|" * len(samplings))
    for name in a.pipelines.split(","):
        path, images, frames = sequences[name]
        folder = brain_folder(tmp, 256) if images == "brain256" else None
        for i, (label, overrides, threads) in enumerate(rows[name]):
            if a.settings and not any(part in label for part in a.settings.split(";")):
                continue
            if overrides == "stream":
                pipeline = variant(path.replace(".yaml", "-stream.yaml"), tmp, f"{name}-{i}", {})
            else:
                pipeline = variant(path, tmp, f"{name}-{i}", overrides)
            cells = []
            for sampling in samplings:
                r = bench_stream(lpnd, pipeline, frames, sampling, folder, threads)
                cells.append(f"{r['frames_per_second']:.2f}, {r['mean_iterations']:.1f}, {r['mean_psnr']:.2f}")
            print(f"| {name} | {label} | {threads} | {' | '.join(cells)} |", flush=True)


def thread_scaling(a, lpnd: Runner):
    tmp = lpnd.work
    builds = [("this build", lpnd)] + ([("other build", Runner(a.other_lpnd, tmp))] if a.other_lpnd else [])
    runs = [("mri-4x-stream", None, a.frames), ("mri-brain-4x-stream", "brain256", max(9, a.frames // 2))]
    header = " | ".join(f"{b}, {t} thread{'s' if t > 1 else ''}: frames/s" for b, _ in builds for t in (1, 2))
    print(f"| pipeline | {header} | 2 ÷ 1 thread{' (this build) | this ÷ other build, 2 threads' if a.other_lpnd else ''} |")
    print("|---|" + "---:|" * (2 * len(builds) + 1 + (1 if a.other_lpnd else 0)))
    for name, images, frames in runs:
        if name.replace("-stream", "") not in a.pipelines.split(","):
            continue
        pipeline = variant(os.path.join(PIPELINES, f"{name}.yaml"), tmp, f"threads-{name}", {})
        folder = brain_folder(tmp, 256) if images else None
        rates = {(b, t): [] for b, _ in builds for t in (1, 2)}
        for _ in range(a.repeats):
            for b, runner in builds:
                for t in (1, 2):
                    r = bench_stream(runner, pipeline, frames, "interleaved", folder, t)
                    rates[(b, t)].append(r["frames_per_second"])
        med = {k: float(np.median(v)) for k, v in rates.items()}
        cells = [f"{med[(b, t)]:.2f}" for b, _ in builds for t in (1, 2)]
        ratio = f"{med[('this build', 2)] / med[('this build', 1)]:.2f}×"
        other = f" | {med[('this build', 2)] / med[('other build', 2)]:.2f}×" if a.other_lpnd else ""
        print(f"| {name} | {' | '.join(cells)} | {ratio}{other} |", flush=True)


def daemon(a, lpnd: Runner):
    tmp = lpnd.work
    runs = [("mri-4x", None, 128, a.rate_128), ("mri-brain-4x", "brain256", 256, a.rate_256)]  # quality pipeline, its -stream variant
    print("| pipeline | sequence | sent at | frames | answered frames/s | latency p50 / p99 (ms) | p99 ÷ p50 | errors | "
          "mean PSNR (daemon) | same frames offline, quality pipeline (mri-4x / mri-brain-4x) | difference |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, images, size, rate in runs:
        if name not in a.pipelines.split(","):
            continue
        shipped = os.path.join(PIPELINES, f"{name}.yaml")
        pipeline = variant(shipped.replace(".yaml", "-stream.yaml"), tmp, f"daemon-{name}", {})
        folder = brain_folder(tmp, size) if images else None
        ingest, publish = f"ipc://{tmp}/in-{name}", f"ipc://{tmp}/out-{name}"
        settings = {"frame_threads": a.frame_threads} if a.frame_threads else None
        config = daemon_config(os.path.join(tmp, f"lpnd-{name}.yaml"), publish, pipeline, dict(endpoint=ingest),
                               settings=settings, png=a.png)
        with lpnd.daemon(config):
            receiver = OutputReceiver(publish, stream="rt", kinds=("frame", "error", "pong"))
            probe = MeasurementSender(ingest, pipeline=f"{name}-stream", stream="rt")
            handshake(probe, receiver, timeout=60)
            probe.close()
            cmd = [lpnd.lpnd, "send", "--pipeline", pipeline, "--endpoint", ingest, "--count", str(a.daemon_frames),
                   "--rate", str(rate), "--dynamic", "--sampling", a.daemon_sampling, "--stream", "rt", "--seed", "1"]
            if folder:
                cmd += ["--images", folder]
            sender = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            latencies, waits, solves, psnrs, arrivals, errors = {}, {}, {}, {}, {}, 0
            deadline = time.time() + 60 + 3 * a.daemon_frames / rate
            while len(latencies) + errors < a.daemon_frames and time.time() < deadline:
                out = receiver.receive(timeout=1)
                if isinstance(out, Frame):
                    seq = out.header["seq"]
                    latencies[seq] = out.header["timings"]["total_ms"]
                    waits[seq] = out.header["timings"]["queue_ms"]
                    solves[seq] = out.header["timings"]["reconstruct_ms"]
                    psnrs[seq] = out.header.get("psnr", float("nan"))
                    arrivals[seq] = time.monotonic()
                elif isinstance(out, ErrorEvent):
                    errors += 1
            sender.wait(60)
        # Steady state: from the first frame after the start-up backlog has drained (the
        # stream's first frame starts cold and the next ones queue behind it): the first frame
        # that waited less than half a frame interval for the worker. The full-stream p99 is
        # given too, and the start-up's length.
        seqs = sorted(latencies)
        skip = next((s for s in seqs if s > 0 and waits[s] < 500 / rate), seqs[-1])
        steady = [latencies[s] for s in seqs if s >= skip]
        t = [arrivals[s] for s in seqs if s >= skip]
        fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else float("nan")
        p50, p99 = np.percentile(steady, 50), np.percentile(steady, 99)
        p99_all = np.percentile([latencies[s] for s in seqs], 99)
        mean_psnr = float(np.mean([psnrs[s] for s in seqs]))
        if a.latencies:
            with open(f"{a.latencies}-{name}.json", "w") as f:
                json.dump({"latency_ms": [latencies[s] for s in seqs], "queue_ms": [waits[s] for s in seqs],
                           "reconstruct_ms": [solves[s] for s in seqs],
                           "arrival_s": [arrivals[s] - arrivals[seqs[0]] for s in seqs]}, f)
        # The same frames offline with the settings shipped before (first `quality_frames`).
        before = variant(shipped, tmp, f"before-{name}", BEFORE)
        q = min(a.quality_frames, len(seqs))
        base = bench_stream(lpnd, before, q + 1, a.daemon_sampling, folder)
        now = float(np.mean([psnrs[s] for s in seqs if 1 <= s <= q]))
        print(f"| {name}-stream | {'brain' if folder else 'phantom'} {size}², {a.daemon_sampling} | {rate:g}/s | {len(seqs)} | {fps:.2f} | "
              f"{p50:.0f} / {p99:.0f} (all frames: p99 {p99_all:.0f}; start-up: {skip} frames, max {max(latencies[s] for s in seqs if s < skip):.0f}) | {p99 / p50:.2f} | {errors} | {mean_psnr:.2f} | "
              f"{base['mean_psnr']:.2f} (frames 1–{q}; shipped: {now:.2f}) | {now - base['mean_psnr']:+.2f} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--part", choices=["table", "daemon", "both", "threads"], default="both")
    ap.add_argument("--pipelines", default="mri-4x,mri-brain-4x")
    ap.add_argument("--frames", type=int, default=17, help="frames per table row (the first is not timed)")
    ap.add_argument("--samplings", default="interleaved,golden,fixed")
    ap.add_argument("--daemon-frames", type=int, default=200)
    ap.add_argument("--daemon-sampling", default="interleaved")
    ap.add_argument("--rate-128", type=float, default=10)
    ap.add_argument("--rate-256", type=float, default=2.5)
    ap.add_argument("--quality-frames", type=int, default=24, help="frames compared with the quality pipeline offline")
    ap.add_argument("--latencies", help="also write each frame's latency and arrival time to LATENCIES-<pipeline>.json")
    ap.add_argument("--settings", help="--part table: only the rows whose setting contains one of these (separated by ';': the settings hold commas)")
    ap.add_argument("--other-lpnd", help="--part threads: another lpnd build to compare with, in the same rounds")
    ap.add_argument("--repeats", type=int, default=3, help="--part threads: rounds (cells are medians)")
    ap.add_argument("--frame-threads", type=int, help="the daemon's frame_threads (default: the daemon's own, auto)")
    ap.add_argument("--no-png", dest="png", action="store_false", help="frames without their PNG (png: false)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lpnd = Runner(a.lpnd, tmp)
        if a.part in ("table", "both"):
            table(a, lpnd)
        if a.part == "threads":
            thread_scaling(a, lpnd)
        if a.part in ("daemon", "both"):
            daemon(a, lpnd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
