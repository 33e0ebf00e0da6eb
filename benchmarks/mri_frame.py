#!/usr/bin/env python3
"""One 256×256 single-coil MRI frame (R = 4, 8 % centre, noise 0.01): lpnd LPN-ADMM and TV-ADMM
against BART `pics` ℓ1-wavelet on identical k-space, one core and two, in the same run.

    python3 benchmarks/mri_frame.py --lpnd .build/release/lpnd [--repetitions 3]

Two frames: a held-out phantom (training/data.py) with the phantom model at the shipped mri-4x
settings, and a held-out real brain slice (needs nilearn/dipy) with pipelines/mri-brain-4x.yaml.
`lpnd simulate` makes the k-space once; every method reconstructs that file. Times are wall
clock of the whole command (process start, model or file loading included) for both tools,
median of the repetitions; lpnd's in-process reconstruction time (diagnostics totalSeconds) is
shown beside it. Threads: lpnd `--threads N` (OpenBLAS), BART OMP_NUM_THREADS=N. BART's λ is
the one docs/RESULTS.md chose on training images (0.001 at 4×), 100 iterations as there.
Installs nothing itself except BART when missing (apt-get install bart, as root).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import data as datasets  # noqa: E402
from bart import read_cfl, to_bart_kspace, write_cfl  # noqa: E402

OPERATOR = dict(type="mri", acceleration=4, center_fraction=0.08, seed=1)


def pipelines(size):
    """(frame kind, model) → {method: pipeline dict}; JSON is YAML. The LPN rows use the shipped
    pipelines' settings (pipelines/mri-4x.yaml, mri-brain-4x.yaml, mri-brain-4x-stream.yaml:
    iterations, ρ, tolerance, symmetry, box); every ADMM, TV's too, keeps x in [0, 1]."""
    def admm(prior, rho, iterations, tolerance=1e-4, **solver):
        return dict(image=dict(shape=[size, size]), operator=OPERATOR, prior=prior,
                    solver=dict(type="admm", rho=rho, iterations=iterations, data_weight=1.0, tolerance=tolerance,
                                init="adjoint", box=True, **solver),
                    simulation=dict(noise=0.01, seed=0), output=dict(clip=True))
    tv = admm(dict(type="tv", **{"lambda": 0.05}, iterations=20), 0.1, 60)
    brain = dict(type="lpn", model=os.path.join(ROOT, "models", "mri-lowres.safetensors"))
    dihedral = dict(brain, symmetry="dihedral")
    phantom = dict(type="lpn", model=os.path.join(ROOT, "models", "phantom.safetensors"))
    return {
        "phantom": {
            "LPN-ADMM (phantom model, mri-4x settings: dihedral, tolerance 5e-4)":
                admm(dict(phantom, symmetry="dihedral"), 0.04, 30, tolerance=5e-4, x_step="closed_form"),
            "LPN-ADMM (phantom model, symmetry none, tolerance 5e-4)":
                admm(phantom, 0.04, 30, tolerance=5e-4, x_step="closed_form"),
            "TV-ADMM": tv,
        },
        "brain": {
            "LPN-ADMM (mri-lowres, mri-brain-4x settings: dihedral, tolerance 2e-3)":
                admm(dihedral, 0.1, 30, tolerance=2e-3, x_step="closed_form"),
            "LPN-ADMM (mri-lowres, mri-brain-4x-stream settings: symmetry none, tolerance 5e-3)":
                admm(brain, 0.1, 30, tolerance=5e-3, x_step="closed_form"),
            "LPN-ADMM (mri-lowres, dihedral, tolerance 5e-3)":
                admm(dihedral, 0.1, 30, tolerance=5e-3, x_step="closed_form"),
            "LPN-ADMM (mri-lowres, dihedral, 30 iterations, no early stop)":
                admm(dihedral, 0.1, 30, tolerance=0, x_step="closed_form"),
            "TV-ADMM": tv,
        },
    }


def frame(kind, size):
    if kind == "phantom":
        return datasets.Source("phantom", size, augment=False).heldout(1, seed=0)[0, 0]
    return datasets.Source("mri", size, augment=False).heldout(1, seed=0)[0, 0]


def psnr(x, ref):
    return float(10 * np.log10(1.0 / np.mean((np.clip(x, 0, 1) - ref) ** 2)))


def timed(cmd, env=None):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=os.path.join(ROOT, ".build", "release", "lpnd"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--frames", default="phantom,brain")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--bart-lambda", type=float, default=0.001)
    a = ap.parse_args()
    if shutil.which("bart") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "bart"], check=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in a.frames.split(","):
            try:
                ref = frame(kind, a.size).astype(np.float32)
            except Exception as e:  # the brain needs nilearn/dipy
                print(f"skipping the {kind} frame: {e}", file=sys.stderr)
                continue
            ref_path, y_path = os.path.join(tmp, f"{kind}.npy"), os.path.join(tmp, f"{kind}-y.npy")
            np.save(ref_path, ref)
            methods = pipelines(a.size)[kind]
            paths = {}
            for i, (name, p) in enumerate(methods.items()):
                p = dict(name=f"bench-{kind}-{i}", **p)
                paths[name] = os.path.join(tmp, f"{kind}-{i}.yaml")
                with open(paths[name], "w") as fh:
                    json.dump(p, fh)
            first = next(iter(paths.values()))
            subprocess.run([a.lpnd, "simulate", "--pipeline", first, "--input", ref_path, "--output", y_path], check=True)
            y = np.load(y_path)
            k, s = os.path.join(tmp, "k"), os.path.join(tmp, "s")
            write_cfl(k, to_bart_kspace(y).reshape(a.size, a.size, 1, 1))
            write_cfl(s, np.ones((a.size, a.size, 1, 1), dtype=np.complex64))
            for threads in [int(t) for t in a.threads.split(",")]:
                env = dict(os.environ, OMP_NUM_THREADS=str(threads))
                out = os.path.join(tmp, "x")
                cmd = ["bart", "pics", "-w", "1", "-c", "-i", "100", "-R", f"W:3:0:{a.bart_lambda}", k, s, out]
                bart_times = [timed(cmd, env) for _ in range(a.repetitions)]
                bart_psnr = psnr(np.real(read_cfl(out)), ref)
                bart_seconds = float(np.median(bart_times))
                rows.append((kind, threads, f"BART pics ℓ1-wavelet (λ {a.bart_lambda:g}, 100 it)", bart_seconds, None,
                             bart_psnr, 1.0))
                for name, path in paths.items():
                    walls, inside, value = [], [], None
                    for _ in range(a.repetitions):
                        d = os.path.join(tmp, "d.json")
                        walls.append(timed([a.lpnd, "reconstruct", "--pipeline", path, "--input", y_path, "--output",
                                            os.path.join(tmp, "o.npy"), "--diagnostics", d, "--reference", ref_path,
                                            "--threads", str(threads)]))
                        diag = json.load(open(d))
                        inside.append(diag["totalSeconds"])
                        value = diag["psnr"]
                    wall = float(np.median(walls))
                    rows.append((kind, threads, f"lpnd {name}, {diag['iterations']} it", wall,
                                 float(np.median(inside)), value, wall / bart_seconds))
    print(f"MRI {a.size}×{a.size}, 4× (8 % centre), noise 0.01; median of {a.repetitions}; {os.cpu_count()} cores")
    print("| frame | threads | method | seconds (wall) | lpnd in-process | PSNR (dB) | time ÷ BART |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for kind, threads, name, wall, inside, value, ratio in rows:
        inner = f"{inside:.2f}" if inside is not None else "—"
        print(f"| {kind} | {threads} | {name} | {wall:.2f} | {inner} | {value:.2f} | {ratio:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
