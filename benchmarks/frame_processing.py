#!/usr/bin/env python3
"""Whole-frame against patch processing of the LPN prior: time per frame and PSNR, same run.

    python3 benchmarks/frame_processing.py --lpnd .build/release/lpnd [--size 256] [--repetitions 3]

One held-out phantom (training/data.py) at SIZE x SIZE, MRI 4x (8 % centre, noise 0.01),
PnP-ADMM with the closed-form k-space step, 20 iterations, rho 0.05, tolerance 0:
`lpnd reconstruct` with the shipped phantom model on the whole frame (its default padding,
zero) and with the stage-1 model it was fine-tuned from in Hann patches (stride 32, the
configuration whole-frame processing replaced), and TV-ADMM for scale. Reports the
median wall time of the reconstruction (diagnostics totalSeconds, including the per-frame
prior check) and the ratios. Needs numpy.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from common import LPND, MODELS, Runner
import data as datasets  # training/data.py


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repetitions", type=int, default=3)
    a = ap.parse_args()
    model = os.path.join(MODELS, "phantom.safetensors")
    priors = {
        "LPN, whole frame": dict(type="lpn", model=model),
        "LPN, Hann patches": dict(type="lpn", model=model.replace("phantom.", "phantom-base."), processing="patches",
                                  patch_stride=32, patch_weighting="hann"),
        "TV": dict(type="tv", **{"lambda": 0.05}),
    }
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        lpnd = Runner(a.lpnd, tmp)
        x = datasets.Source("phantom", a.size).heldout(1, seed=0)[0, 0]
        for i, (name, prior) in enumerate(priors.items()):
            path = lpnd.write_pipeline(dict(
                name=f"bench-{i}", image=dict(shape=[a.size, a.size]),
                operator=dict(type="mri", acceleration=4, center_fraction=0.08, seed=1), prior=prior,
                solver=dict(type="admm", iterations=20, rho=0.05, x_step="closed_form", tolerance=0, init="adjoint"),
                simulation=dict(noise=0.01, seed=0)))
            if i == 0:
                ref, y = lpnd.simulate(path, x, "frame")
            diags = [lpnd.reconstruct(path, y, ref, lpnd.path("out.npy"), lpnd.path("d.json")) for _ in range(a.repetitions)]
            results[name] = dict(seconds=float(np.median([d["totalSeconds"] for d in diags])), psnr=diags[-1]["psnr"])
    base = results["LPN, Hann patches"]["seconds"]
    print(f"MRI 4x, {a.size}x{a.size}, 20 ADMM iterations, median of {a.repetitions}:")
    print("| prior | seconds per frame | relative to Hann patches | PSNR (dB) |")
    print("|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['seconds']:.2f} | {r['seconds'] / base:.2f}× | {r['psnr']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
