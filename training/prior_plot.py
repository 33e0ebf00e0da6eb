#!/usr/bin/env python3
"""The learned prior made visible: mean φ(x) of held-out images under growing perturbations.

For each shipped model and its held-out images (training/data.py, never used in training):
Gaussian noise of standard deviation σ, Gaussian blur of width σ (pixels), and a convex mix
(1 − t)·x + t·x' with another held-out image. φ comes from `lpnd prior` (f inverted by
L-BFGS, then φ(f(y)) = ⟨y, f(y)⟩ − ½‖f(y)‖² − ψ(y)); no PyTorch needed. Writes
docs/figures/prior_phi.png and the table between the `prior` markers of docs/MODELS.md.

    python3 training/prior_plot.py --lpnd .build/release/lpnd
"""
import argparse
import json
import os
import tempfile

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from data import Source  # noqa: E402
from shared import LPND, MODELS, ROOT, replace_block, run  # noqa: E402

PERTURBATIONS = {
    "noise σ": [0.0, 0.02, 0.05, 0.1, 0.15, 0.2],
    "blur σ (px)": [0.0, 0.5, 1.0, 1.5, 2.0, 3.0],
    "mix t": [0.0, 0.1, 0.25, 0.5, 0.75, 0.9],
}


def perturb(images, partners, kind, level, rng):
    if kind.startswith("noise"):
        return images + level * rng.standard_normal(images.shape)
    if kind.startswith("blur"):
        return np.stack([gaussian_filter(x, level, mode="reflect") if level > 0 else x for x in images])
    return (1 - level) * images + level * partners


def phi(lpnd, model, batch, tolerance, tmp):
    path = os.path.join(tmp, "batch.npy")
    np.save(path, batch[:, None].astype(np.float32))
    return json.loads(run([lpnd, "prior", "--model", model, "--input", path, "--tolerance", str(tolerance)]))["images"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lpnd", default=LPND)
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["phantom", "natural"]:
            model = os.path.join(MODELS, f"{name}.safetensors")
            held = Source(name, 64).heldout(2 * args.images, seed=1)[:, 0].astype(np.float64)
            images, partners = held[: args.images], held[args.images:]
            results[name] = {}
            for kind, levels in PERTURBATIONS.items():
                rows = []
                for level in levels:
                    rng = np.random.default_rng(int(1000 * level) + 7)
                    evals = phi(args.lpnd, model, perturb(images, partners, kind, level, rng), args.tolerance, tmp)
                    values = np.array([e["phi"] for e in evals])
                    rows.append({"level": level, "mean_phi": float(values.mean()), "std_phi": float(values.std()),
                                 "max_residual": max(e["residual"] for e in evals),
                                 "all_converged": all(e["converged"] for e in evals)})
                    print(f"{name:8s} {kind:12s} {level:5.2f}  φ = {values.mean():9.2f} ± {values.std():6.2f}"
                          f"  max residual {rows[-1]['max_residual']:.1e}", flush=True)
                results[name][kind] = rows

    # Plotted: mean φ minus mean φ of the unperturbed images (φ's level differs per model);
    # hollow markers where the inversion of f did not converge (φ not meaningful there).
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, kind in zip(axes, PERTURBATIONS):
        for name, marker, line in [("phantom", "o", "-"), ("natural", "s", "--")]:
            rows = results[name][kind]
            base = rows[0]["mean_phi"]
            levels = [r["level"] for r in rows]
            delta = [r["mean_phi"] - base for r in rows]
            ok = [r["max_residual"] <= 1e-3 for r in rows]
            shown = [d if good else np.nan for d, good in zip(delta, ok)]
            handle = ax.plot(levels, shown, line, marker=marker, label=f"{name} model")[0]
            bad = [(lv, d) for lv, d, good in zip(levels, delta, ok) if not good]
            if bad:
                ax.plot([b[0] for b in bad], [min(b[1], 150) for b in bad], marker, mfc="none",
                        color=handle.get_color(), label=f"{name}: inversion failed (clipped)")
        ax.set_xlabel(kind)
        ax.set_ylabel("mean φ(x) − mean φ(x₀)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Learned regularizer φ on held-out images ({args.images} per model) under perturbation")
    fig.tight_layout()
    os.makedirs(os.path.join(ROOT, "docs", "figures"), exist_ok=True)
    fig.savefig(os.path.join(ROOT, "docs", "figures", "prior_phi.png"), dpi=110)
    with open(os.path.join(ROOT, "docs", "figures", "prior_phi.json"), "w") as f:
        json.dump(results, f, indent=1)

    lines = ["| model | perturbation | " + " | ".join(f"level {i + 1}" for i in range(6)) + " |",
             "|---|---|" + "---:|" * 6]
    for name in results:
        for kind, rows in results[name].items():
            cells = [f"{r['level']:g}: {r['mean_phi']:.1f}" + ("" if r["max_residual"] <= 1e-3 else " †") for r in rows]
            lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("† the inversion of f did not reach a relative residual of 1e-3 for at least one image: "
                 "the perturbed image is not (close to) in the range of f, and φ there is not meaningful.")
    replace_block(os.path.join(ROOT, "docs", "MODELS.md"), "prior", "\n".join(lines))


if __name__ == "__main__":
    main()
