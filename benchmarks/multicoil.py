#!/usr/bin/env python3
"""Multi-coil MRI against BART on identical k-space: the "Multi-coil MRI" table of docs/RESULTS.md.

For each row (pipelines/mri-mc-4x.yaml, mri-mc-8x.yaml: 128×128, 8 simulated coils, noise 0.01
per coil, correlated 0.2 between neighbours, a smooth object phase of up to 1 rad) and each image,
`lpnd simulate` writes the k-space straight to BART's .cfl/.hdr (the pipelines declare centred
k-space, BART's layout), and every method reads that same file:

  - zero-filled: root-sum-of-squares of the coils' inverse FFTs (numpy);
  - BART: `bart ecalib -m 1 -c <crop> -r <centre rows>` maps, then `bart pics -w 1 -R W:3:0:λ`
    (ℓ1-wavelet, 100 iterations), magnitude;
  - lpnd TV-ADMM and LPN-ADMM (`lpnd reconstruct` on the .cfl), maps estimated per frame.

Images: real brain slices from dipy's wheel (held out; another source than the MRI models'
MNI152 training volume); BART's (crop, λ), TV's λ and the LPN's (model, ρ) are chosen on MNI152
training slices only. PSNR/SSIM against the magnitude ground truth, all clipped to [0, 1] and
computed here by one function; seconds per frame are each tool's wall time (BART: ecalib + pics).

    python3 benchmarks/multicoil.py [--lpnd .build/release/lpnd] [--bart bart]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

from common import LPND, PIPELINES, ROOT, Runner, clipped_metrics, run, variant
from bart import pics_command, read_cfl
import data as datasets  # training/data.py

ROWS = [("mri-mc-4x", "Multi-coil MRI 128×128, 8 coils, 4× (8 % centre)", 10),
        ("mri-mc-8x", "Multi-coil MRI 128×128, 8 coils, 8× (6 % centre)", 8)]
MODELS = ["mri-s05", "mri-s02", "phantom", "mri-s05-long", "mri-lowres"]
RHO = [0.02, 0.05, 0.1, 0.2, 0.5]
TV = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
# BART: (ecalib crop threshold -c, pics λ); the default crop (0.8) cut most of the brain out of
# the maps on these slices, so the threshold is tuned too.
BART_SETTINGS = [(c, l) for c in (0.0, 0.3, 0.8) for l in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)]


def pipeline(lpnd: Runner, row, tag, overrides):
    """The row's shipped pipeline named <row>-<tag>, `overrides` applied (common.variant)."""
    return variant(os.path.join(PIPELINES, row + ".yaml"), lpnd.work, f"{row}-{tag}", dict(overrides, name=f"{row}-{tag}"))


def simulate(lpnd: Runner, pipeline, x, name, *args):
    """Image x through `lpnd simulate` into BART's .cfl/.hdr -> (image path, k-space base name)."""
    ref, k = lpnd.simulate(pipeline, x, name, *args, output=lpnd.path(name + "-k.cfl"))
    return ref, k[:-len(".cfl")]


def reconstruct(lpnd: Runner, pipeline, k, ref, name):
    """`lpnd reconstruct` of the .cfl k-space `k` -> (image, wall seconds, flags)."""
    out = lpnd.path(name + "-r.npy")
    d = lpnd.reconstruct(pipeline, k + ".cfl", ref, out, lpnd.path(name + "-d.json"))
    return np.load(out), lpnd.last_seconds, d.get("flags", [])


def bart_pics(bart, k, calib, setting, out):
    """`bart ecalib` maps (crop threshold, `calib` centre rows), then `bart pics` ℓ1-wavelet at
    λ on k-space `k` -> (magnitude image, wall seconds of both)."""
    crop, lam = setting
    maps = f"{k}-maps-c{crop}"
    t = time.perf_counter()
    run([bart, "ecalib", "-m", "1", "-c", str(crop), "-r", str(calib), k, maps])
    run(pics_command(k, maps, out, "W", lam, real=False, bart=bart))
    seconds = time.perf_counter() - t
    return np.abs(read_cfl(out)).T.astype(np.float32), seconds


def zero_filled(k):
    y = read_cfl(k, ndim=4)  # (X, Y, 1, C), centred
    y = np.transpose(y[:, :, 0, :], (2, 1, 0))  # [C, H, W]
    img = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(y, axes=(-2, -1)), axes=(-2, -1), norm="ortho"), axes=(-2, -1))
    return np.sqrt((np.abs(img) ** 2).sum(0)).astype(np.float32)


def phase_study(lpnd: Runner, held, lam_tv=0.05):
    """TV-ADMM at 4× on the held-out slices with the object phase 0, 1, 2 and 3 rad: what the
    phase-referenced maps keep; against it, the PSNR of Re(x·e^{iθ}), the image a real-part
    reconstruction would at best return."""
    rows = []
    for peak in (0.0, 1.0, 2.0, 3.0):
        path = variant(os.path.join(PIPELINES, "mri-mc-4x.yaml"), lpnd.work, f"phase-{peak}",
                       {"prior": {"type": "tv", "lambda": lam_tv}, "simulation.phase": peak})
        psnr, bound = [], []
        for i, x in enumerate(held):
            ref, k = simulate(lpnd, path, x, f"phase-{peak}-{i}", "--seed", str(i))
            psnr.append(clipped_metrics(reconstruct(lpnd, path, k, ref, f"phase-{peak}-{i}")[0], x)[0])
            h, w = x.shape
            u, v = np.meshgrid(2 * (np.arange(w) + 0.5) / w - 1, 2 * (np.arange(h) + 0.5) / h - 1)
            theta = peak * (u + u * u + v * v - 1) / 2  # the simulation's form, angle 0
            bound.append(clipped_metrics(x * np.cos(theta), x)[0])
        rows.append({"phase": peak, "tv_psnr": float(np.mean(psnr)), "real_part_psnr": float(np.mean(bound))})
        print(f"   phase {peak:.1f} rad: TV-ADMM {np.mean(psnr):6.2f} dB; Re(x·e^(iθ)) against x {np.mean(bound):6.2f} dB", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--bart", default="bart")
    ap.add_argument("--train", type=int, default=2, help="MNI152 training slices for tuning")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/figures/multicoil.json"))
    ap.add_argument("--phase-study", action="store_true", help="only the object-phase study (docs/RESULTS.md)")
    args = ap.parse_args()
    if shutil.which(args.bart) is None:
        sys.exit("needs Debian's bart (apt-get install bart)")
    lpnd = Runner(args.lpnd, tempfile.mkdtemp(prefix="lpnd-multicoil-"))
    held = datasets.Source("mri", 128, augment=False).heldout(4)[:, 0]
    train = datasets.Source("mri", 128, augment=False).batch(np.random.default_rng(12345), args.train)[:, 0]
    if args.phase_study:
        rows = phase_study(lpnd, held)
        with open(os.path.join(ROOT, "docs/figures/multicoil_phase.json"), "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d"), "rows": rows}, f, indent=1)
        return
    results = {"date": time.strftime("%Y-%m-%d"), "rows": []}
    for row, label, calib in ROWS:
        print(f"== {row}", flush=True)
        shipped = os.path.join(PIPELINES, row + ".yaml")
        tune = [simulate(lpnd, shipped, x, f"{row}-t{i}") for i, x in enumerate(train)]
        test = [simulate(lpnd, shipped, x, f"{row}-h{i}") for i, x in enumerate(held)]
        refs = {k: np.load(r) for r, k in tune + test}

        def mean_psnr(fn, cases):
            return float(np.mean([clipped_metrics(fn(r, k), refs[k])[0] for r, k in cases]))

        def pics(k, setting, tag):
            return bart_pics(args.bart, k, calib, setting, lpnd.path(os.path.basename(k) + tag))

        # Tuning on training slices only.
        lam_bart = max(BART_SETTINGS, key=lambda l: mean_psnr(lambda r, k: pics(k, l, "-b-pics")[0], tune))
        tv_paths = {l: pipeline(lpnd, row, f"tv{l}", {"prior": {"type": "tv", "lambda": l}}) for l in TV}
        lam_tv = max(TV, key=lambda l: mean_psnr(lambda r, k: reconstruct(lpnd, tv_paths[l], k, r, os.path.basename(k) + f"-tv{l}")[0], tune))
        lpn_paths = {(m, rho): pipeline(lpnd, row, f"{m}-{rho}", {"prior": {"type": "lpn", "model": f"../models/{m}.safetensors"},
                                                                  "solver.rho": rho})
                     for m in MODELS for rho in RHO}
        best = max(lpn_paths, key=lambda key: mean_psnr(lambda r, k: reconstruct(lpnd, lpn_paths[key], k, r, os.path.basename(k) + f"-{key[0]}-{key[1]}")[0], tune))
        print(f"   tuned: BART (crop, λ) {lam_bart}, TV λ {lam_tv}, LPN {best}", flush=True)

        methods = {
            "zero-filled SoS": lambda r, k: (zero_filled(k), 0.0, []),
            "BART pics ℓ1-wavelet": lambda r, k: (*pics(k, lam_bart, "-final-pics"), []),
            "lpnd TV-ADMM": lambda r, k: reconstruct(lpnd, tv_paths[lam_tv], k, r, os.path.basename(k) + "-tv-final"),
            "lpnd LPN-ADMM (tuned)": lambda r, k: reconstruct(lpnd, lpn_paths[best], k, r, os.path.basename(k) + "-lpn-final"),
            "lpnd LPN-ADMM (shipped pipeline)": lambda r, k: reconstruct(lpnd, shipped, k, r, os.path.basename(k) + "-shipped"),
        }
        entry = {"row": row, "label": label, "images": len(test), "bart_crop": lam_bart[0], "bart_lambda": lam_bart[1], "tv_lambda": lam_tv,
                 "lpn_model": best[0], "lpn_rho": best[1], "methods": {}}
        for name, fn in methods.items():
            scores, seconds, flagged = [], [], 0
            for r, k in test:
                x, s, flags = fn(r, k)
                scores.append(clipped_metrics(x, refs[k]))
                seconds.append(s)
                flagged += bool(flags)
            entry["methods"][name] = {"psnr": float(np.mean([p for p, _ in scores])), "ssim": float(np.mean([q for _, q in scores])),
                                      "seconds": float(np.mean(seconds)), "flagged": flagged}
            print(f"   {name:34s} {entry['methods'][name]['psnr']:6.2f} dB  {entry['methods'][name]['ssim']:.3f}  {np.mean(seconds):6.2f} s", flush=True)
        results["rows"].append(entry)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print("wrote", args.out)
    shutil.rmtree(lpnd.work, ignore_errors=True)


if __name__ == "__main__":
    main()
