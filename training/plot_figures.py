#!/usr/bin/env python3
"""Figures for docs/MODELS.md: training curves and a held-out denoising example per model.

    python3 training/plot_figures.py [--models phantom natural]

Writes docs/figures/training_<name>.png (batch PSNR of f(y) per step, smoothed, and the loss)
and docs/figures/denoise_<name>.png (clean / noisy / TV prox / BM3D / LPN on the held-out
sample stored in Tests/LPNTests/Fixtures/heldout_<name>_*.npy).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lpn_torch import load_lpnd  # noqa: E402
from shared import MODELS, ROOT, psnr  # noqa: E402

FIG = os.path.join(ROOT, "docs", "figures")
FIX = os.path.join(ROOT, "Tests", "LPNTests", "Fixtures")


def smooth(v: np.ndarray, k: int = 50) -> np.ndarray:
    if len(v) < k:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    return (c[k:] - c[:-k]) / k


def training_plot(name: str) -> None:
    path = os.path.join(MODELS, name, "train_log.csv")
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    step = np.array([int(r["step"]) for r in rows])
    p_out = np.array([float(r["psnr_out"]) for r in rows])
    p_noisy = float(np.median([float(r["psnr_noisy"]) for r in rows]))
    loss = np.array([float(r["loss"]) for r in rows])
    phase = [r["phase"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4))
    ax[0].plot(step[49:] if len(step) >= 50 else step, smooth(p_out), lw=1)
    ax[0].set_xlabel("step")
    ax[0].set_ylabel("batch PSNR of f(y) (dB, 50-step mean)")
    ax[0].set_title(f"{name}: training batches (noisy ≈ {p_noisy:.0f} dB)")
    ax[1].semilogy(step, loss, lw=0.4)
    ax[1].set_xlabel("step")
    ax[1].set_title("loss (L1, then proximal matching, 4 γ stages)")
    if "pm" in phase:
        s0 = step[phase.index("pm")]
        for a in ax:
            a.axvline(s0, color="k", ls="--", lw=0.8)
    fig.tight_layout()
    fig.savefig(os.path.join(FIG, f"training_{name}.png"), dpi=90)
    plt.close(fig)


def denoise_plot(name: str) -> None:
    from skimage.restoration import denoise_tv_chambolle
    clean = np.load(os.path.join(FIX, f"heldout_{name}_clean.npy"))
    noisy = np.load(os.path.join(FIX, f"heldout_{name}_noisy.npy"))
    with open(os.path.join(MODELS, name, "eval.json")) as fh:
        ev = json.load(fh)
    model = load_lpnd(os.path.join(MODELS, f"{name}.safetensors"))
    if noisy.shape[-1] != model.size:
        model.frame_padding = model.meta.get("frame_padding", "zero")  # whole frame, as lpnd serves it
    out = model(torch.from_numpy(noisy)[None, None], create_graph=False).detach().numpy()[0, 0]
    panels = [("clean", clean), ("noisy", noisy),
              ("TV prox", denoise_tv_chambolle(noisy.astype(np.float64), weight=ev["tv_weight"]))]
    try:
        import bm3d
        panels.append(("BM3D", bm3d.bm3d(noisy.astype(np.float64), sigma_psd=ev["noise_level"])))
    except Exception:  # noqa: BLE001
        pass
    panels.append(("LPN", out))
    fig, ax = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.8))
    for a, (t, im) in zip(ax, panels):
        if t != "clean":
            t = f"{t}\n{psnr(im, clean):.2f} dB"
        else:
            t = f"{t}\n"
        a.imshow(np.clip(im, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        a.set_title(t, fontsize=9)
        a.axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(FIG, f"denoise_{name}.png"), dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=["phantom", "natural"])
    a = ap.parse_args(argv)
    os.makedirs(FIG, exist_ok=True)
    for name in a.models:
        if not os.path.isfile(os.path.join(MODELS, name, "eval.json")):
            print(f"{name}: not evaluated yet; skipped")
            continue
        training_plot(name)
        denoise_plot(name)
        print(f"wrote docs/figures/training_{name}.png, denoise_{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
