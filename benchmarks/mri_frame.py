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
import os
import shutil
import sys
import tempfile
import time

import numpy as np

from common import LPND, MODELS, Runner, psnr, run
from bart import pics_command, read_cfl, write_inputs
import data as datasets  # training/data.py

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
    brain = dict(type="lpn", model=os.path.join(MODELS, "mri-lowres.safetensors"))
    dihedral = dict(brain, symmetry="dihedral")
    phantom = dict(type="lpn", model=os.path.join(MODELS, "phantom.safetensors"))
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
            "LPN-ADMM (mri-lowres, mri-brain-4x-stream settings: symmetry none, ρ 0.2, tolerance 5e-3)":
                admm(brain, 0.2, 30, tolerance=5e-3, x_step="closed_form"),
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


def timed(cmd, env=None):
    start = time.perf_counter()
    run(cmd, env=env)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--frames", default="phantom,brain")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--bart-lambda", type=float, default=0.001)
    a = ap.parse_args()
    if shutil.which("bart") is None:
        run(["apt-get", "install", "-y", "-q", "bart"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lpnd = Runner(a.lpnd, tmp)
        for kind in a.frames.split(","):
            try:
                ref = frame(kind, a.size).astype(np.float32)
            except Exception as e:  # the brain needs nilearn/dipy
                print(f"skipping the {kind} frame: {e}", file=sys.stderr)
                continue
            paths = {name: lpnd.write_pipeline(dict(name=f"bench-{kind}-{i}", **p))
                     for i, (name, p) in enumerate(pipelines(a.size)[kind].items())}
            ref_path, y_path = lpnd.simulate(next(iter(paths.values())), ref, kind)
            k, s = write_inputs(tmp, np.load(y_path))
            for threads in [int(t) for t in a.threads.split(",")]:
                env = dict(os.environ, OMP_NUM_THREADS=str(threads))
                out = os.path.join(tmp, "x")
                cmd = pics_command(k, s, out, "W", a.bart_lambda)
                bart_times = [timed(cmd, env) for _ in range(a.repetitions)]
                bart_psnr = psnr(np.clip(np.real(read_cfl(out)), 0, 1), ref)
                bart_seconds = float(np.median(bart_times))
                rows.append((kind, threads, f"BART pics ℓ1-wavelet (λ {a.bart_lambda:g}, 100 it)", bart_seconds, None,
                             bart_psnr, 1.0))
                for name, path in paths.items():
                    walls, inside, value = [], [], None
                    for _ in range(a.repetitions):
                        diag = lpnd.reconstruct(path, y_path, ref_path, lpnd.path("o.npy"), lpnd.path("d.json"),
                                                "--threads", str(threads))
                        walls.append(lpnd.last_seconds)
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
