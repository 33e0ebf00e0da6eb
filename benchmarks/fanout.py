"""Throughput on several cores: one upstream PUSH socket, `lpnd run` instances PULLing from it
(ingest mode: connect), a subscriber on every instance's PUB socket. Same frames, same run;
prints frames/s of each configuration and the ratios.

    python3 benchmarks/fanout.py --lpnd .build/release/lpnd [--pipeline pipelines/mri-4x.yaml] [--frames 16]
        1 then 2 instances, one worker and one thread each (docs/DEPLOY.md, "Scale-out")
    python3 benchmarks/fanout.py --compare workers [--frames 16]
        one instance: 1 worker with 1 thread, 2 workers with 1 thread each, and
        1 worker with frame_threads: auto (every core on one frame at a time)
"""
import argparse
import contextlib
import os
import sys
import tempfile
import time

import numpy as np

from common import LPND, PIPELINES, Runner, daemon_config, load_pipeline, variant
from lpnd_client import Frame, MeasurementSender, OutputReceiver, Pong, receive_any


def phantom(n, shift):
    yy, xx = np.mgrid[0:n, 0:n] / n
    image = np.where((yy - 0.5) ** 2 + (xx - 0.5 - shift / n) ** 2 < 0.12, 0.8, 0.0)
    image = np.where((yy - 0.45) ** 2 + (xx - 0.4) ** 2 < 0.01, 0.3, image)
    return image.astype(np.float32)


def measurements(lpnd: Runner, pipeline, count):
    """(the pipeline's name, `count` measurements cycling through 4 phantoms `lpnd simulate`d)."""
    p = load_pipeline(pipeline)
    n = p["image"]["shape"][0]
    out = [np.load(lpnd.simulate(pipeline, phantom(n, i), f"phantom{i}")[1]) for i in range(min(count, 4))]
    return p["name"], [out[i % len(out)] for i in range(count)]


def run(lpnd: Runner, pipeline, name, frames, instances, workers=1, threads="1"):
    tag = f"{instances}-{workers}-{threads}"
    upstream = f"ipc://{lpnd.work}/upstream-{tag}"
    push = MeasurementSender(upstream, pipeline=name, stream="bench", bind=True)
    with contextlib.ExitStack() as running:
        subs = []
        for k in range(instances):
            publish = f"ipc://{lpnd.work}/out-{tag}-{k}"
            config = daemon_config(lpnd.path(f"lpnd-{tag}-{k}.yaml"), publish, pipeline,
                                   dict(endpoint=upstream, mode="connect", high_water_mark=1),
                                   settings=dict(frame_threads=threads), workers=workers, png=False)
            running.enter_context(lpnd.daemon(config))
            subs.append(OutputReceiver(publish, stream="bench", kinds=("frame", "pong")))
        ponged, seq = set(), 0
        deadline = time.time() + 60
        while len(ponged) < instances and time.time() < deadline:  # ping until every instance answers
            if not push.ping(seq, block=False):  # no instance connected yet
                time.sleep(0.02)
            seq += 1
            got = receive_any(subs, timeout=0.02)
            if got and isinstance(got[1], Pong):
                ponged.add(got[0])
        assert len(ponged) == instances, "not every instance came up"
        start = time.time()
        for i, y in enumerate(frames):
            push.send(y, seq=i)
        done, per_instance = 0, [0] * instances
        while done < len(frames) and time.time() - start < 600:
            got = receive_any(subs, timeout=0.1)
            if got and isinstance(got[1], Frame):
                done += 1
                per_instance[got[0]] += 1
        seconds = time.time() - start
    for s in subs:
        s.close()
    push.close(linger=0)
    assert done == len(frames), f"{done} of {len(frames)} frames"
    return len(frames) / seconds, per_instance


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lpnd", default=LPND)
    parser.add_argument("--pipeline", default=os.path.join(PIPELINES, "mri-4x.yaml"))
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--compare", choices=["instances", "workers"], default="instances")
    args = parser.parse_args()
    lpnd = Runner(args.lpnd, tempfile.mkdtemp(prefix="lpnd-fanout-"))
    args.pipeline = variant(args.pipeline, lpnd.work)  # frames only, no first-frame check
    name, frames = measurements(lpnd, args.pipeline, args.frames)
    if args.compare == "workers":
        one, _ = run(lpnd, args.pipeline, name, frames, 1, workers=1, threads="1")
        two, _ = run(lpnd, args.pipeline, name, frames, 1, workers=2, threads="1")
        auto, _ = run(lpnd, args.pipeline, name, frames, 1, workers=1, threads="auto")
        print(f"pipeline {name}, {len(frames)} frames, {os.cpu_count()} cores, one instance")
        print("| configuration | frames/s | ratio to 1 worker |")
        print("|---|---:|---:|")
        print(f"| 1 worker, 1 thread | {one:.3f} | 1.00 |")
        print(f"| 2 workers, 1 thread each | {two:.3f} | {two / one:.2f} |")
        print(f"| 1 worker, frame_threads: auto ({os.cpu_count()}) | {auto:.3f} | {auto / one:.2f} |")
        return 0
    one, _ = run(lpnd, args.pipeline, name, frames, 1)
    two, split = run(lpnd, args.pipeline, name, frames, 2)
    print(f"pipeline {name}, {len(frames)} frames, {os.cpu_count()} cores")
    print(f"one instance:  {one:.3f} frames/s")
    print(f"two instances: {two:.3f} frames/s (frames per instance {split})")
    print(f"ratio two/one: {two / one:.2f}")


if __name__ == "__main__":
    sys.exit(main())
