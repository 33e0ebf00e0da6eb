#!/usr/bin/env python3
"""What can measurements say about deblurring? The learned prior's and TV's errors on the
deblurring rows' held-out frames, seen through the blur.

A check that compares priors on measurements (held-out pixels, docs/MATH.md §6, or any other
split of y) can only see an image error e through the operator: a blurred measurement sees
|H(f)|²·|ê(f)|² at each frequency f (ê the error's Fourier transform, H the blur's response),
plus the noise. This script reconstructs each held-out frame of the deblurring rows with
LPN-ADMM (the rule's model and ρ) and TV-ADMM (the row's λ), as results.py does, and computes
with the ground truth, per frame, the ratio of the two errors in dB (negative: the learned
prior's is smaller) under the weights

    blurred:  |H(f)|²                      (what a held-out pixel's error sees)
    ε:        |H(f)|² / (|H(f)|² + ε)      (the part of the image error at f that the
                                            measurements resolve at signal-to-noise 1/ε)
    image:    1                            (the PSNR's error)

next to the check's verdict on that frame (docs/figures/choice.json, `results_choice.py`).
Where the "blurred" and small-ε columns disagree in sign with the "image" column, no
estimate from measurements, however precise, ranks the two priors as the PSNR does.

`--split K` also estimates the ε columns from the measurements alone, as a check could, by
noise splitting (the coupled bootstrap): with the noise σ known, draw w ~ N(0, σ²), split
y into y₁ = y + a·w and y₂ = y − w/a (a = 0.5; jointly Gaussian and uncorrelated, so
independent), reconstruct with both priors from y₁, and compare their residuals on y₂ in
the metric W = 1/(|H|² + ε): the difference D = Σ_f W (|H x̂_L − y₂|² − |H x̂_T − y₂|²) has
the noise's terms cancel and its mean is the ε column's difference of weighted errors (for
the reconstructions from y₁). Reported: D's mean over K draws divided by its standard
error (z; positive: TV's error is smaller). 2K more reconstructions a frame.

    python3 benchmarks/check_visibility.py [--rows blur-1,blur-2,blur-1-256,blur-2-256] [--images 4] [--split 4] [--training]

Writes docs/figures/check_visibility.json and the `visibility` block of docs/RESULTS.md; with
`--training`, the rows' training images instead of the held-out ones (what a rule's ε would
be chosen on), into check_visibility_training.json and the `visibility-training` block.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from common import LPND, ROOT, Runner, replace_block
import results as R

EPSILONS = [1e-2, 1e-3, 1e-4]
SPLIT_A = 0.5


def blur_response(runner, pipeline, m):
    """The pipeline's blur kernel, as lpnd builds it (`lpnd operator export`), as a frequency
    response on the m×m measurement grid. The blur is a "full" convolution of the
    zero-padded image there, exactly a circular one, so its response is the kernel's FFT."""
    folder = runner.path("operator-" + os.path.basename(pipeline).removesuffix(".yaml"))
    runner.run("operator", "export", "--pipeline", pipeline, "--output", folder)
    return np.fft.fft2(np.load(os.path.join(folder, "kernel.npy")).astype(np.float64), (m, m))


def ratios_db(x, lpn, tv, h):
    """10·log₁₀(Σ w|ê_LPN|² / Σ w|ê_TV|²) for each weighting; h: the blur's response."""
    m = h.shape[0]
    h2 = np.abs(h) ** 2
    el = np.abs(np.fft.fft2(lpn - x, (m, m))) ** 2
    et = np.abs(np.fft.fft2(tv - x, (m, m))) ** 2
    weights = {"blurred": h2, **{f"eps={e:g}": h2 / (h2 + e) for e in EPSILONS}, "image": np.ones_like(h2)}
    return {k: float(10 * np.log10((w * el).sum() / (w * et).sum())) for k, w in weights.items()}


def split_estimates(runner, row, pipelines, y_path, h, sigma, draws, seed):
    """z of D (see the module's doc) for each ε, from `draws` noise splits of the measurement;
    h: the blur's response."""
    y = np.load(y_path).astype(np.float64)
    m = y.shape[0]
    h2 = np.abs(h) ** 2
    rng = np.random.default_rng(seed)
    d = {e: [] for e in EPSILONS}
    for k in range(draws):
        w = rng.normal(0, sigma, y.shape)
        y1, y2 = y + SPLIT_A * w, y - w / SPLIT_A
        y1_path = runner.path(f"split-{row['id']}-y1.npy")
        np.save(y1_path, y1.astype(np.float32))
        residual = []
        for name, pipe in pipelines.items():
            out = runner.path(f"split-{row['id']}-{name}.npy")
            runner.run("reconstruct", "--pipeline", pipe, "--input", y1_path, "--output", out)
            residual.append(np.abs(np.fft.fft2(np.load(out).astype(np.float64), (m, m)) * h - np.fft.fft2(y2)) ** 2)
        for e in EPSILONS:
            d[e].append(float(((residual[0] - residual[1]) / (h2 + e)).sum()))
    return {f"eps={e:g}": float(np.mean(v) / (np.std(v, ddof=1) / np.sqrt(len(v)))) for e, v in d.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--rows", default="blur-1,blur-2,blur-1-256,blur-2-256")
    ap.add_argument("--training", action="store_true", help="training images (--images of them), not held-out ones")
    ap.add_argument("--split", type=int, default=0, help="noise-split draws per frame (0: none)")
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "results"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "RESULTS.md"))
    args = ap.parse_args()
    runner = Runner(args.lpnd, args.work)
    summary = R.load_summary(args)
    choice_path = os.path.join(os.path.dirname(args.doc), "figures", "choice.json")
    checks = json.load(open(choice_path))["main"] if os.path.exists(choice_path) else {}
    frames = []
    for rid in args.rows.split(","):
        row = next(r for r in R.ROWS if r["id"] == rid)
        held = R.images(row["kind"], row["size"], args.images, heldout=not args.training)
        tag = "tune" if args.training else "held"
        model, rho = R.rule(row["kind"], row["noise"], *R.operator_traits(row))
        lpn = R.evaluate(runner, row, "lpn-admm", held, tag, rho=rho, model=model)
        tv = R.evaluate(runner, row, "tv", held, tag, lam=summary[rid]["lam"])
        verdicts = [] if args.training else checks.get(rid, {}).get("check_db_each", [])
        pipelines = {"lpn": runner.write_pipeline({**R.pipeline(row, "lpn-admm", rho=rho, model=model), "name": f"{rid}-split-lpn"}),
                     "tv": runner.write_pipeline({**R.pipeline(row, "tv", lam=summary[rid]["lam"]), "name": f"{rid}-split-tv"})}
        h = None  # the blur's response on the measurement grid, from the first frame's size
        for i, (a, b) in enumerate(zip(lpn, tv)):
            x = np.load(a["ref"]).astype(np.float64)
            if h is None:
                h = blur_response(runner, pipelines["lpn"], np.load(a["meas"]).shape[0])
            r = ratios_db(x, np.load(a["rec"]).astype(np.float64), np.load(b["rec"]).astype(np.float64), h)
            frames.append(dict(row=rid, label=row["label"], frame=i, lpn_minus_tv=a["psnr"] - b["psnr"],
                               check_db=verdicts[i] if i < len(verdicts) else None, ratios_db=r))
            if args.split:
                frames[-1]["split_z"] = split_estimates(runner, row, pipelines, a["meas"], h, row["noise"], args.split, seed=i)
            print(frames[-1], flush=True)
    name = "check_visibility" + ("_training" if args.training else "")
    with open(os.path.join(os.path.dirname(args.doc), "figures", name + ".json"), "w") as f:
        json.dump(frames, f, indent=1)
    write_block(frames, args.doc, "visibility-training" if args.training else "visibility", name)
    return 0


def write_block(frames, doc, block, name):
    keys = list(frames[0]["ratios_db"])
    lines = ["| row | frame | LPN − TV (PSNR, dB) | check verdict (dB) | " + " | ".join(keys) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(keys)]
    for f in frames:
        check = "—" if f["check_db"] is None else f"{f['check_db']:+.2f}"
        lines.append(f"| {f['label']} | {f['frame']} | {f['lpn_minus_tv']:+.2f} | {check} | "
                     + " | ".join(f"{f['ratios_db'][k]:+.2f}" for k in keys) + " |")
    agree = {k: sum((f["ratios_db"][k] < 0) == (f["lpn_minus_tv"] > 0) for f in frames) for k in keys}
    if "split_z" in frames[0]:
        zkeys = list(frames[0]["split_z"])
        lines[0] += " " + " | ".join(f"split z, {k}" for k in zkeys) + " |"
        lines[1] += "---:|" * len(zkeys)
        for j, f in enumerate(frames):
            lines[2 + j] += " " + " | ".join(f"{f['split_z'][k]:+.1f}" for k in zkeys) + " |"
        agree.update({f"split z, {k}": sum((f["split_z"][k] < 0) == (f["lpn_minus_tv"] > 0) for f in frames) for k in zkeys})
    lines.append("")
    lines.append("Frames whose sign agrees with the PSNR's (LPN ahead ⇔ ratio < 0): "
                 + ", ".join(f"{k} {n}/{len(frames)}" for k, n in agree.items()) + ".")
    images = "training" if block.endswith("training") else "held-out"
    replace_block(doc, block, f"LPN-ADMM's error over TV-ADMM's, in dB, on each {images} deblurring frame, "
                  "weighted per frequency f as the column says (negative: the learned prior's error is smaller; "
                  "\"image\" is the PSNR's own error, so it is minus the PSNR column up to rounding); check verdict: "
                  + ("not run on training images. " if images == "training" else
                     "the pixel hold-out check's on the same frame (`results_choice.py`). ")
                  + f"`python3 benchmarks/check_visibility.py{' --training --images 2' if images == 'training' else ''} --split 4`, "
                  f"every frame in `docs/figures/{name}.json`.\n\n"
                  + "\n".join(lines))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
