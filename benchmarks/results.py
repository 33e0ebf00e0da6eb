#!/usr/bin/env python3
"""Reconstruction results for docs/RESULTS.md, through the lpnd CLI only (no PyTorch).

For every row (problem) and held-out image: `lpnd simulate`, then `lpnd reconstruct` with each
method (LPN-ADMM, LPN-PGD, TV-ADMM, LS or zero-filled), PSNR/SSIM from lpnd's diagnostics
(--reference). Pipelines are generated per row/method into the work directory (JSON is YAML).
Hyper-parameters (ADMM ρ, TV λ) are chosen per row on *training* images (phantom seeds below
10,000,000; natural: a training photo), never on the held-out ones; with --no-tune the values
in DEFAULTS are used.

    python3 benchmarks/results.py --lpnd .build/release/lpnd [--images 4] [--rows mri-4,mri-8]

Writes docs/RESULTS.md (between the results markers), docs/figures/reconstructions.png,
docs/figures/convergence.png and docs/figures/results.json. Needs numpy, scikit-image (for
the natural held-out images) and matplotlib.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))
import data as datasets  # noqa: E402  (training/data.py: phantoms and natural patches)

# Problems: the rows. noise = std of the Gaussian noise added to every measured value.
ROWS = [
    dict(id="dense-0.5", label="Dense Gaussian CS 64×64, rate 0.5", kind="phantom", size=64, noise=0.01,
         operator=dict(type="dense_cs", rate=0.5, seed=1), baseline="least_squares"),
    dict(id="dense-0.25", label="Dense Gaussian CS 64×64, rate 0.25", kind="phantom", size=64, noise=0.01,
         operator=dict(type="dense_cs", rate=0.25, seed=1), baseline="least_squares"),
    dict(id="rconv-4", label="Random-convolution CS 128×128, rate 1/4", kind="phantom", size=128, noise=0.001,
         operator=dict(type="random_convolution", rate=0.25, seed=1), baseline="least_squares",
         lpn_iterations=80, tv_iterations=120),
    dict(id="rconv-16", label="Random-convolution CS 128×128, rate 1/16", kind="phantom", size=128, noise=0.001,
         operator=dict(type="random_convolution", rate=0.0625, seed=1), baseline="least_squares",
         lpn_iterations=80, tv_iterations=120),
    dict(id="mri-4", label="MRI 128×128, 4× (8 % centre)", kind="phantom", size=128, noise=0.01,
         operator=dict(type="mri", acceleration=4, center_fraction=0.08, seed=1), baseline="adjoint"),
    dict(id="mri-8", label="MRI 128×128, 8× (4 % centre)", kind="phantom", size=128, noise=0.01,
         operator=dict(type="mri", acceleration=8, center_fraction=0.04, seed=1), baseline="adjoint"),
    dict(id="blur-1", label="Deblurring 128×128, σb = 1, noise 0.02", kind="natural", size=128, noise=0.02,
         operator=dict(type="blur", sigma=1.0), baseline="adjoint"),
    dict(id="blur-2", label="Deblurring 128×128, σb = 2, noise 0.02", kind="natural", size=128, noise=0.02,
         operator=dict(type="blur", sigma=2.0), baseline="adjoint"),
]

# Per-kind starting values; --tune replaces rho (LPN-ADMM) and lambda (TV) per row.
DEFAULTS = dict(lpn_rho=0.1, lpn_data_weight=1.0, lpn_iterations=30, pgd_iterations=30, pgd_step=1.0,
                tv_lambda=0.01, tv_iterations=60, ls_iterations=30)
RHO_GRID = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
STRENGTH_GRID = [0.05, 0.1, 0.2, 0.5, 1.0]  # LPN-PGD relaxation θ
LAMBDA_GRID = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]

METHODS = ["LPN-ADMM", "LPN-ADMM (patches)", "LPN-PGD", "TV-ADMM", "LS / zero-filled"]
METHOD_KEYS = ["lpn-admm", "lpn-admm-patches", "lpn-pgd", "tv", "ls"]


MODELS_DIR = [os.path.join(ROOT, "models")]


def model_path(kind: str, base: bool = False) -> str:
    """The row's model (base: the N x N model the whole-frame one was fine-tuned from, which the
    patches column runs as it was shipped before); natural rows fall back to the phantom model
    when natural is missing."""
    path = os.path.join(MODELS_DIR[0], f"{kind}{'-base' if base else ''}.safetensors")
    if not os.path.exists(path) and kind == "natural":
        return os.path.join(MODELS_DIR[0], "phantom.safetensors")
    return path


def init_for(row):
    return "adjoint" if row["operator"]["type"] in ("mri", "blur") else "least_squares"


# How the LPN meets a frame: whole (the default, an exact prox) or the Hann-blended patches it
# replaced (the "patches" column).
WHOLE = dict(processing="whole")  # the padding: the model's default (frame_padding)
PATCHES = dict(processing="patches", patch_stride=32, patch_weighting="hann")


def pipeline(row, method, rho=None, lam=None, theta=None, processing=None):
    p = dict(name=f"{row['id']}-{method}", image=dict(shape=[row["size"], row["size"]]),
             operator=row["operator"], simulation=dict(noise=row["noise"], seed=0))
    init = init_for(row)
    if method in ("lpn-admm", "lpn-admm-patches"):
        patches = method == "lpn-admm-patches"
        p["prior"] = dict(type="lpn", model=model_path(row["kind"], base=patches),
                          **(processing or (PATCHES if patches else WHOLE)))
        p["solver"] = dict(type="admm", iterations=row.get("lpn_iterations", DEFAULTS["lpn_iterations"]), rho=rho or DEFAULTS["lpn_rho"],
                           data_weight=DEFAULTS["lpn_data_weight"], tolerance=0, init=init, cg_iterations=10)
    elif method == "lpn-pgd":
        p["prior"] = dict(type="lpn", model=model_path(row["kind"]), strength=theta or 1.0, **(processing or WHOLE))
        p["solver"] = dict(type="pgd", iterations=row.get("lpn_iterations", DEFAULTS["pgd_iterations"]), step=DEFAULTS["pgd_step"],
                           tolerance=0, init=init)
    elif method == "tv":
        p["prior"] = dict(type="tv", lambda_=lam or DEFAULTS["tv_lambda"], iterations=20)
        p["prior"]["lambda"] = p["prior"].pop("lambda_")
        p["solver"] = dict(type="admm", iterations=row.get("tv_iterations", DEFAULTS["tv_iterations"]), rho=0.1, data_weight=1.0,
                           tolerance=0, init=init, cg_iterations=10)
    else:
        p["prior"] = dict(type="none")
        if row["baseline"] == "adjoint":
            p["solver"] = dict(type="adjoint")
        else:
            p["solver"] = dict(type="least_squares", iterations=DEFAULTS["ls_iterations"], tolerance=0, init="zeros")
    return p


class Runner:
    def __init__(self, lpnd, work):
        self.lpnd, self.work = lpnd, work
        os.makedirs(work, exist_ok=True)
        self.seconds = 0.0

    def write_pipeline(self, p):
        path = os.path.join(self.work, p["name"] + ".yaml")
        with open(path, "w") as f:
            json.dump(p, f, indent=1)  # JSON is YAML
        return path

    def run(self, *args):
        t = time.time()
        r = subprocess.run([self.lpnd, *args], capture_output=True, text=True)
        self.seconds += time.time() - t
        if r.returncode != 0:
            raise RuntimeError(f"lpnd {' '.join(args)} failed: {r.stderr.strip()}")
        return r.stdout

    def simulate(self, pipeline_path, image_path, out):
        self.run("simulate", "--pipeline", pipeline_path, "--input", image_path, "--output", out)

    def reconstruct(self, pipeline_path, meas, ref, out_npy, diag):
        self.run("reconstruct", "--pipeline", pipeline_path, "--input", meas, "--output", out_npy,
                 "--diagnostics", diag, "--reference", ref)
        with open(diag) as f:
            return json.load(f)


def images(kind, size, count, heldout=True):
    src = datasets.Source(kind, size)
    if heldout:
        return src.heldout(count, seed=0)[:, 0]
    rng = np.random.default_rng(12345)
    return src.batch(rng, count)[:, 0]  # training images: for tuning only


def evaluate(runner, row, method, imgs, tag, rho=None, lam=None, theta=None, processing=None):
    p = pipeline(row, method, rho, lam, theta, processing)
    p["name"] += f"-{tag}"
    path = runner.write_pipeline(p)
    sim = runner.write_pipeline(pipeline(row, "ls"))
    out = []
    for i, x in enumerate(imgs):
        ref = os.path.join(runner.work, f"{row['id']}-{tag}-{i}-x.npy")
        meas = os.path.join(runner.work, f"{row['id']}-{tag}-{i}-y.npy")
        if not os.path.exists(meas):
            np.save(ref, x.astype(np.float32))
            runner.simulate(sim, ref, meas)
        rec = os.path.join(runner.work, f"{p['name']}-{i}.npy")
        diag = os.path.join(runner.work, f"{p['name']}-{i}.json")
        d = runner.reconstruct(path, meas, ref, rec, diag)
        out.append(dict(psnr=d["psnr"], ssim=d["ssim"], seconds=d["totalSeconds"], diag=diag, rec=rec, ref=ref,
                        meas=meas, flags=d.get("flags", [])))
    return out


def mean(xs):
    return float(np.mean(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=os.path.join(ROOT, ".build/release/lpnd"))
    ap.add_argument("--images", type=int, default=4, help="held-out images per row")
    ap.add_argument("--tune-images", type=int, default=1, help="training images for the ρ/λ search")
    ap.add_argument("--no-tune", action="store_true")
    ap.add_argument("--rows", default="", help="comma-separated row ids (default: all)")
    ap.add_argument("--models", default=MODELS_DIR[0], help="directory with phantom/natural .safetensors")
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "results"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "RESULTS.md"))
    args = ap.parse_args()
    MODELS_DIR[0] = os.path.abspath(args.models)
    runner = Runner(args.lpnd, args.work)
    rows = [r for r in ROWS if not args.rows or r["id"] in args.rows.split(",")]
    results = {}
    for row in rows:
        if not os.path.exists(model_path(row["kind"])):
            print(f"skip {row['id']}: {model_path(row['kind'])} missing", flush=True)
            continue
        t0 = time.time()
        rho, lam, theta = DEFAULTS["lpn_rho"], DEFAULTS["tv_lambda"], 1.0
        rho_patches = rho
        tuning = {}
        if not args.no_tune:
            train = images(row["kind"], row["size"], args.tune_images, heldout=False)
            scores = {r: mean([e["psnr"] for e in evaluate(runner, row, "lpn-admm", train, f"tune", rho=r)]) for r in RHO_GRID}
            rho = max(scores, key=scores.get)
            tuning["rho"] = scores
            scores = {r: mean([e["psnr"] for e in evaluate(runner, row, "lpn-admm-patches", train, f"tune", rho=r)]) for r in RHO_GRID}
            rho_patches = max(scores, key=scores.get)
            tuning["rho_patches"] = scores
            scores = {l: mean([e["psnr"] for e in evaluate(runner, row, "tv", train, f"tune", lam=l)]) for l in LAMBDA_GRID}
            lam = max(scores, key=scores.get)
            tuning["lambda"] = scores
            scores = {t: mean([e["psnr"] for e in evaluate(runner, row, "lpn-pgd", train, f"tune", theta=t)]) for t in STRENGTH_GRID}
            theta = max(scores, key=scores.get)
            tuning["theta"] = scores
            tuning["images"] = args.tune_images
        held = images(row["kind"], row["size"], args.images)
        per = {}
        for name, method in zip(METHODS, METHOD_KEYS):
            per[name] = evaluate(runner, row, method, held, "held", rho=rho_patches if method == "lpn-admm-patches" else rho,
                                 lam=lam, theta=theta)
        model = os.path.basename(model_path(row["kind"])).replace(".safetensors", "")
        results[row["id"]] = dict(row=row, rho=rho, rho_patches=rho_patches, lam=lam, theta=theta, model=model,
                                  tuning=tuning, per=per,
                                  seconds=time.time() - t0)
        line = ", ".join(f"{m} {mean([e['psnr'] for e in per[m]]):.2f}" for m in METHODS)
        print(f"{row['id']}: ρ={rho} λ={lam} θ={theta}: {line} ({time.time() - t0:.0f} s)", flush=True)
    write_outputs(results, args)


def write_outputs(results, args):
    figdir = os.path.join(os.path.dirname(args.doc), "figures")
    os.makedirs(figdir, exist_ok=True)
    summary_path = os.path.join(figdir, "results.json")
    summary = {}
    if os.path.exists(summary_path):  # rows from earlier runs stay unless re-run now
        summary = json.load(open(summary_path))
    for rid, r in results.items():
        stats = {}
        for m in METHODS:
            ps, ss = [e["psnr"] for e in r["per"][m]], [e["ssim"] for e in r["per"][m]]
            stats[m] = dict(psnr=mean(ps), ssim=mean(ss), seconds=mean([e["seconds"] for e in r["per"][m]]),
                            psnr_each=ps, flagged=sum(1 for e in r["per"][m] if e.get("flags")))
        summary[rid] = dict(label=r["row"]["label"], kind=r["row"]["kind"], noise=r["row"]["noise"],
                            model=r["model"], images=len(r["per"][METHODS[0]]), stats=stats, rho=r["rho"],
                            rho_patches=r["rho_patches"],
                            lam=r["lam"], theta=r["theta"], tuning=r["tuning"],
                            generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=1, default=str)
    lines = ["| problem | images | model | LPN-ADMM | LPN-ADMM, Hann patches | LPN-PGD | TV-ADMM | LS / zero-filled "
             "| LPN-ADMM − TV (dB) | whole − patches (dB) | flagged LPN-ADMM frames | ρ (whole / patches) | θ (PGD) | λ (TV) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in ROWS:
        if row["id"] not in summary:
            continue
        r = summary[row["id"]]
        if any(m not in r["stats"] for m in METHODS):
            continue  # a row from a run before this table's columns existed: rerun it
        cells = [f"{r['stats'][m]['psnr']:.2f} / {r['stats'][m]['ssim']:.3f}" for m in METHODS]
        gap = r["stats"]["LPN-ADMM"]["psnr"] - r["stats"]["TV-ADMM"]["psnr"]
        modes = r["stats"]["LPN-ADMM"]["psnr"] - r["stats"]["LPN-ADMM (patches)"]["psnr"]
        lines.append(f"| {r['label']} ({r['kind']}, noise {r['noise']}) | {r['images']} | {r['model']} | "
                     + " | ".join(cells) + f" | {gap:+.2f} | {modes:+.2f} | {r['stats']['LPN-ADMM']['flagged']} "
                     f"| {r['rho']} / {r['rho_patches']} | {r['theta']} | {r['lam']} |")
    table = "\n".join(lines)
    if "mri-4" in results:
        make_figures(results["mri-4"], figdir)
    doc = open(args.doc).read() if os.path.exists(args.doc) else "<!-- results:start -->\n<!-- results:end -->\n"
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    block = (f"{start}\nMean PSNR (dB) / SSIM over held-out images, by `benchmarks/results.py` "
             f"(per-row dates and every number in `docs/figures/results.json`).\n\n{table}\n{end}")
    doc = doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
    with open(args.doc, "w") as f:
        f.write(doc)
    print(table)


def make_figures(r, figdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    per = r["per"]
    x = np.load(per["LPN-ADMM"][0]["ref"])
    panels = [("ground truth", x, None)]
    for m in ["LS / zero-filled", "TV-ADMM", "LPN-PGD", "LPN-ADMM"]:
        e = per[m][0]
        panels.append((m, np.load(e["rec"]), e["psnr"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.3))
    for ax, (title, img, psnr) in zip(axes, panels):
        ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title if psnr is None else f"{title}\n{psnr:.2f} dB", fontsize=9)
        ax.axis("off")
    fig.suptitle(r["row"]["label"] + " — held-out image 0", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(figdir, "reconstructions.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for m, style in [("LPN-ADMM", "-"), ("LPN-PGD", "--"), ("TV-ADMM", ":")]:
        d = json.load(open(per[m][0]["diag"]))
        it = [rec["iteration"] for rec in d["records"]]
        axes[0].semilogy(it, [rec["relativeChange"] for rec in d["records"]], style, label=m)
        axes[1].semilogy(it, [rec["dataResidual"] for rec in d["records"]], style, label=m)
    axes[0].set_title("relative change ‖xₖ − xₖ₋₁‖/‖xₖ₋₁‖", fontsize=9)
    axes[1].set_title("data residual ‖Axₖ − y‖/‖y‖", fontsize=9)
    for ax in axes:
        ax.set_xlabel("iteration")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(r["row"]["label"] + " — held-out image 0", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(figdir, "convergence.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
