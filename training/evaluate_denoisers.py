#!/usr/bin/env python3
"""Held-out denoising evaluation of lpnd's shipped models; writes docs/MODELS.md's table.

    python3 training/evaluate_denoisers.py [--models phantom natural] [--count 32] [--frame 128]

For each model models/<name>.safetensors (its data kind is its run's, models/<name>/train_config.json,
or else the name up to the first "-": phantom, natural or mri):
  * held-out clean FRAME x FRAME images (default 128; the model runs on the whole frame with
    the model's default padding, as lpnd does) from training/data.py (phantom: seeds never drawn in training;
    natural: patches of the held-out skimage images only), noisy y = x + s*n at the model's
    training noise level s (seeded, not clipped);
  * PSNR/SSIM (data range 1, outputs not clipped) of: the noisy input, the TV prox
    (skimage denoise_tv_chambolle, weight tuned on training images), BM3D (PyPI bm3d, if
    installed, sigma = s) and the LPN f(y) (float32, as the Swift engine runs it);
  * models/<name>/eval.json with the numbers, and the held-out sample for the Swift test:
    Tests/LPNTests/Fixtures/heldout_<name>_clean.npy, _noisy.npy (FRAME x FRAME float32) and
    heldout_<name>.json (PSNR of noisy and of the LPN output);
  * the table between the markers in docs/MODELS.md is regenerated from all eval.json files;
  * docs/figures/training_<name>.png and denoise_<name>.png (training/plot_figures.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from skimage.restoration import denoise_tv_chambolle

from data import Source, model_data_kind
from lpn_torch import load_lpnd
from shared import MODELS, ROOT, psnr, replace_block, ssim

torch.set_num_threads(1)

try:
    import bm3d as _bm3d  # noqa: E402
except Exception:  # noqa: BLE001
    _bm3d = None

FIX = os.path.join(ROOT, "Tests", "LPNTests", "Fixtures")
DOC = os.path.join(ROOT, "docs", "MODELS.md")
NOISE_SEED = 20240501
TV_WEIGHTS = [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]


def metrics(out: np.ndarray, ref: np.ndarray):
    """(PSNR, SSIM) of an output against the clean image, data range 1, not clipped."""
    return psnr(out, ref), ssim(out, ref)


def tune_tv(src: Source, s: float, count: int = 8):
    """Pick the TV weight with the best mean PSNR on a few *training* images."""
    x = Source(src.kind, src.size, augment=False).batch(np.random.default_rng(424242), count)[:, 0]
    y = x + s * np.random.default_rng(424243).standard_normal(x.shape).astype(np.float32)
    best = None
    for w in TV_WEIGHTS:
        p = np.mean([metrics(denoise_tv_chambolle(y[i].astype(np.float64), weight=w), x[i])[0]
                     for i in range(count)])
        if best is None or p > best[1]:
            best = (w, p)
    return best[0]


def lpn_apply(model, y: np.ndarray) -> np.ndarray:
    out = []
    for i in range(0, len(y), 8):
        yt = torch.from_numpy(y[i:i + 8, None].astype(np.float32))
        out.append(model(yt, create_graph=False).detach().numpy()[:, 0])
    return np.concatenate(out)


def evaluate(name: str, count: int, frame: int, padding: str) -> dict:
    path = os.path.join(MODELS, f"{name}.safetensors")
    model = load_lpnd(path)
    padding = padding or model.meta.get("frame_padding", "zero")
    model.frame_padding = padding
    s = model.noise_level
    n = frame
    src = Source(model_data_kind(MODELS, name), n)
    x = src.heldout(count, seed=0)[:, 0]
    count = len(x)  # the real MR held-out set has 4 slices at 128 x 128
    noise = np.random.default_rng(NOISE_SEED).standard_normal(x.shape).astype(np.float32)
    y = (x + s * noise).astype(np.float32)

    t0 = time.time()
    w_tv = tune_tv(src, s)
    outs = {"noisy input": y,
            f"TV prox (weight {w_tv:g})": np.stack(
                [denoise_tv_chambolle(y[i].astype(np.float64), weight=w_tv) for i in range(count)])}
    if _bm3d is not None:
        outs["BM3D"] = np.stack([_bm3d.bm3d(y[i].astype(np.float64), sigma_psd=s)
                                 for i in range(count)])
    outs["LPN"] = lpn_apply(model, y)
    rows = {}
    for meth, o in outs.items():
        m = np.array([metrics(o[i], x[i]) for i in range(count)])
        rows[meth] = {"psnr": float(m[:, 0].mean()), "ssim": float(m[:, 1].mean()),
                      "psnr_std": float(m[:, 0].std())}
    lpn_wins = int(np.sum([metrics(outs["LPN"][i], x[i])[0] >
                           metrics(outs[f"TV prox (weight {w_tv:g})"][i], x[i])[0]
                           for i in range(count)]))
    res = {"model": name, "file": f"models/{name}.safetensors", "noise_level": s, "size": n,
           "hidden": model.hidden, "model_size": model.size, "processing": f"whole frame, {padding} padding",
           "count": count, "noise_seed": NOISE_SEED,
           "tv_weight": w_tv, "lpn_beats_tv_on": f"{lpn_wins}/{count}", "methods": rows,
           "meta": model.meta, "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(MODELS, name, "eval.json"), "w") as fh:
        json.dump(res, fh, indent=1)

    # held-out sample for the Swift test: the first held-out image
    np.save(os.path.join(FIX, f"heldout_{name}_clean.npy"), x[0].astype(np.float32))
    np.save(os.path.join(FIX, f"heldout_{name}_noisy.npy"), y[0].astype(np.float32))
    p_noisy = metrics(y[0], x[0])[0]
    p_lpn = metrics(outs["LPN"][0], x[0])[0]
    p_tv = metrics(outs[f"TV prox (weight {w_tv:g})"][0], x[0])[0]
    gain = p_lpn - p_noisy
    sample = {"model": f"models/{name}.safetensors", "shape": [n, n], "noise_level": s,
              "processing": f"whole frame, {padding} padding",
              "psnr_noisy": round(p_noisy, 4), "psnr_lpn": round(p_lpn, 4),
              "psnr_tv": round(p_tv, 4), "gain_db": round(gain, 4),
              "min_gain_db": round(max(0.0, gain - 1.0), 2),
              "psnr_definition": "10*log10(1/mean((out-clean)^2)), outputs not clipped",
              "made_by": "python3 training/evaluate_denoisers.py"}
    with open(os.path.join(FIX, f"heldout_{name}.json"), "w") as fh:
        json.dump(sample, fh, indent=1)
    print(json.dumps({k: res[k] for k in ("model", "tv_weight", "lpn_beats_tv_on", "methods")},
                     indent=1))
    return res


def table() -> str:
    lines = ["| model | held-out images | size | noise s | method | PSNR (dB) | SSIM |",
             "|---|---|---|---|---|---|---|"]
    for name in ("phantom", "natural", "natural-s05", "mri-s05", "mri-s05-long", "mri-lowres", "mri-s02"):
        p = os.path.join(MODELS, name, "eval.json")
        if not os.path.isfile(p):
            continue
        with open(p) as fh:
            r = json.load(fh)
        for meth, v in r["methods"].items():
            lines.append(f"| {name} | {r['count']} | {r['size']}² | {r['noise_level']:g} | {meth} | "
                         f"{v['psnr']:.2f} | {v['ssim']:.3f} |")
    return "\n".join(lines)


def update_doc() -> None:
    if not os.path.isfile(DOC):
        print(f"{DOC} missing; table not written")
        return
    replace_block(DOC, "eval-table", table())


def main() -> int:
    global MODELS, FIX, DOC
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["phantom", "natural"])
    ap.add_argument("--count", type=int, default=32)
    ap.add_argument("--frame", type=int, default=128, help="held-out image size (whole-frame processing)")
    ap.add_argument("--padding", choices=["reflect", "circular", "zero", "none"],
                    help="default: the model's frame_padding, as lpnd serves it")
    ap.add_argument("--models-dir", default=MODELS, help="(testing) where <name>.safetensors is")
    ap.add_argument("--fixtures-dir", default=FIX, help="(testing) where held-out samples go")
    ap.add_argument("--doc", default=DOC, help="(testing) markdown file with the table markers")
    a = ap.parse_args()
    MODELS, FIX, DOC = a.models_dir, a.fixtures_dir, a.doc
    for name in a.models:
        if not os.path.isfile(os.path.join(MODELS, f"{name}.safetensors")):
            print(f"models/{name}.safetensors not found; skipped")
            continue
        evaluate(name, a.count, a.frame, a.padding)
        if MODELS == os.path.join(ROOT, "models"):
            try:  # figures for docs/MODELS.md (optional: needs matplotlib)
                import plot_figures
                plot_figures.main(["--models", name])
            except Exception as e:  # noqa: BLE001
                print(f"figures for {name} not made: {e}")
    update_doc()
    return 0


if __name__ == "__main__":
    sys.exit(main())
