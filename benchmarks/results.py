#!/usr/bin/env python3
"""Reconstruction results for docs/RESULTS.md, through the lpnd CLI only (no PyTorch).

For every row (problem) and held-out image: `lpnd simulate`, then `lpnd reconstruct` with each
method (LPN-ADMM, LPN-PGD, TV-ADMM, LS or zero-filled), PSNR/SSIM from lpnd's diagnostics
(--reference). Pipelines are generated per row/method into the work directory (JSON is YAML).
LPN-ADMM's model and ρ come from the noise-level rule (benchmarks/noise_rule.py: fitted with
--tune on training images), its symmetry from `symmetry_for` (dihedral: every row's frame is square);
LPN-ADMM and TV-ADMM keep x in [0, 1] (solver.box; --box off runs both without it);
LPN-PGD's θ, TV's λ, BART's λ and the patch column's ρ are chosen per row on *training*
images (phantom seeds below 10,000,000, a training photo, MNI template slices), never on the
held-out ones. --oracle adds the LPN's whole grid on the held-out images, to
show how far the rule is from the best value there.

    python3 benchmarks/results.py --lpnd .build/release/lpnd [--images 4] [--rows mri-4,mri-8]

Writes docs/RESULTS.md (between the results markers), docs/figures/reconstructions.png,
reconstructions_brain.png, convergence.png and results.json. Needs numpy, scikit-image and
matplotlib; scikit-learn (photos), nilearn/nibabel and dipy (the MRI rows' training slices
and real held-out scans) and Debian's `bart` (the BART columns). A row whose images need a
missing package is skipped, and the BART columns without `bart` on PATH, each with a note.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time

import numpy as np

from common import ROOT, Runner, clipped_metrics, replace_block  # noqa: F401  (Runner, ROOT: results_choice.py, stopping.py)
from bart import pics
import data as datasets  # training/data.py: phantoms and natural patches
import noise_rule
from noise_rule import FAMILIES, MODELS_DIR, family, model_path, operator_traits


def mri_row(rid, kind, size, acceleration, centre):
    """Single-coil Cartesian MRI at noise 0.01, on phantoms or real brain slices."""
    label = f"MRI {size}×{size}, {acceleration}× ({centre * 100:g} % centre)" + (", real brain" if kind == "mri" else "")
    return dict(id=rid, label=label, kind=kind, size=size, noise=0.01, baseline="adjoint",
                operator=dict(type="mri", acceleration=acceleration, center_fraction=centre, seed=1))


def blur_row(rid, size, sigma):
    """Gaussian deblurring of photos at noise 0.02."""
    return dict(id=rid, label=f"Deblurring {size}×{size}, σb = {sigma:g}, noise 0.02", kind="natural", size=size,
                noise=0.02, operator=dict(type="blur", sigma=sigma), baseline="adjoint")


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
    mri_row("mri-4", "phantom", 128, 4, 0.08),
    mri_row("mri-8", "phantom", 128, 8, 0.04),
    mri_row("mri-real-4", "mri", 128, 4, 0.08),
    mri_row("mri-real-8", "mri", 128, 8, 0.04),
    mri_row("mri-real-4-256", "mri", 256, 4, 0.08),
    mri_row("mri-real-8-256", "mri", 256, 8, 0.04),
    blur_row("blur-1", 128, 1.0),
    blur_row("blur-2", 128, 2.0),
    blur_row("blur-1-256", 256, 1.0),
    blur_row("blur-2-256", 256, 2.0),
]

# Values used where nothing else sets them (a pipeline without ρ, λ before tuning).
DEFAULTS = dict(lpn_rho=0.1, lpn_data_weight=1.0, lpn_iterations=30, pgd_iterations=30, pgd_step=1.0,
                tv_lambda=0.01, tv_iterations=60, ls_iterations=30)
RHO_GRID = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
STRENGTH_GRID = [0.05, 0.1, 0.2, 0.5, 1.0]  # LPN-PGD relaxation θ
LAMBDA_GRID = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]

METHODS = ["LPN-ADMM", "LPN-ADMM (patches)", "LPN-PGD", "TV-ADMM", "LS / zero-filled"]
METHOD_KEYS = ["lpn-admm", "lpn-admm-patches", "lpn-pgd", "tv", "ls"]


# BART pics on the MRI rows (benchmarks/bart.py): regularizer letter per column, λ tuned alike.
BART_METHODS = {"BART pics ℓ1-wavelet": "W", "BART pics TV": "T"}
BART_LAMBDA_GRID = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05]


def rule(kind: str, noise: float, rate: float = 1.0, iterative: bool = False):
    """The noise-level rule (benchmarks/noise_rule.py) with this run's box (--box) -> (model, ρ)."""
    return noise_rule.rule(kind, noise, rate, iterative, box=BOX[0])


def init_for(row):
    return "adjoint" if row["operator"]["type"] in ("mri", "blur") else "least_squares"


# How the LPN meets a frame: whole (the default, an exact prox) or the Hann-blended patches it
# replaced (the "patches" column).
WHOLE = dict(processing="whole")  # the padding: the model's default (frame_padding)
PATCHES = dict(processing="patches", patch_stride=32, patch_weighting="hann")
# The whole-frame prox's symmetry (docs/MATH.md §3): "rule" = the rule's, dihedral on the
# square frames every row has, or one mode for every row (--symmetry).
SYMMETRY = ["rule"]


# ADMM's box 0 ≤ x ≤ 1 (solver.box, docs/MATH.md §5) for LPN-ADMM and TV-ADMM alike: on (the
# rule's, every row), or off for every row (--box off).
BOX = [True]


# The pipelines' `check` (docs/MATH.md §6): K of its K-fold cross-validation against TV.
CHECK_FOLDS = 4


def symmetry_for(row):
    return "dihedral" if SYMMETRY[0] == "rule" else SYMMETRY[0]


def whole(row):
    return dict(WHOLE, symmetry=symmetry_for(row))


def pipeline(row, method, rho=None, lam=None, theta=None, processing=None, model=None, check_lambda=None, choose=False):
    p = dict(name=f"{row['id']}-{method}", image=dict(shape=[row["size"], row["size"]]),
             operator=row["operator"], simulation=dict(noise=row["noise"], seed=0))
    if check_lambda is not None:  # cross-validate every frame against TV at this λ (docs/MATH.md §6)
        p["name"] += "-choose" if choose else "-check"  # choose: the check's winner makes the frame (§6)
        p["check"] = dict(every=1, folds=CHECK_FOLDS, reference={"lambda": check_lambda}, choose=choose)
    init = init_for(row)
    if method in ("lpn-admm", "lpn-admm-patches"):
        patches = method == "lpn-admm-patches"
        p["prior"] = dict(type="lpn", model=model_path(row["kind"], base=patches, name=model),
                          **(processing or (PATCHES if patches else whole(row))))
        p["solver"] = dict(type="admm", iterations=row.get("lpn_iterations", DEFAULTS["lpn_iterations"]), rho=rho or DEFAULTS["lpn_rho"],
                           data_weight=DEFAULTS["lpn_data_weight"], tolerance=0, init=init, cg_iterations=10,
                           box=BOX[0])
    elif method == "lpn-pgd":
        p["prior"] = dict(type="lpn", model=model_path(row["kind"], name=model), strength=theta or 1.0,
                          **(processing or whole(row)))
        p["solver"] = dict(type="pgd", iterations=row.get("lpn_iterations", DEFAULTS["pgd_iterations"]), step=DEFAULTS["pgd_step"],
                           tolerance=0, init=init)
    elif method == "tv":
        p["prior"] = dict(type="tv", lambda_=lam or DEFAULTS["tv_lambda"], iterations=20)
        p["prior"]["lambda"] = p["prior"].pop("lambda_")
        p["solver"] = dict(type="admm", iterations=row.get("tv_iterations", DEFAULTS["tv_iterations"]), rho=0.1, data_weight=1.0,
                           tolerance=0, init=init, cg_iterations=10, box=BOX[0])
    else:
        p["prior"] = dict(type="none")
        if row["baseline"] == "adjoint":
            p["solver"] = dict(type="adjoint")
        else:
            p["solver"] = dict(type="least_squares", iterations=DEFAULTS["ls_iterations"], tolerance=0, init="zeros")
    return p


def images(kind, size, count, heldout=True):
    src = datasets.Source(kind, size, augment=False)
    if heldout:
        return src.heldout(count, seed=0)[:, 0]
    rng = np.random.default_rng(12345)
    return src.batch(rng, count)[:, 0]  # training images: for tuning only


def measurements(runner, row, imgs, tag):
    """(reference, measurement) .npy paths per image, simulated once by `lpnd simulate`."""
    sim = runner.write_pipeline(pipeline(row, "ls"))
    return [runner.simulate(sim, x, f"{row['id']}-{tag}-{i}", reuse=True) for i, x in enumerate(imgs)]


def evaluate(runner, row, method, imgs, tag, rho=None, lam=None, theta=None, processing=None, model=None,
             check_lambda=None, choose=False):
    p = pipeline(row, method, rho, lam, theta, processing, model, check_lambda, choose)
    p["name"] += f"-{tag}"
    if model:
        p["name"] += f"-{model}"
    path = runner.write_pipeline(p)
    out = []
    for i, (ref, meas) in enumerate(measurements(runner, row, imgs, tag)):
        rec = os.path.join(runner.work, f"{p['name']}-{i}.npy")
        diag = os.path.join(runner.work, f"{p['name']}-{i}.json")
        d = runner.reconstruct(path, meas, ref, rec, diag)
        out.append(dict(psnr=d["psnr"], ssim=d["ssim"], seconds=d["totalSeconds"], diag=diag, rec=rec, ref=ref,
                        meas=meas, flags=d.get("flags", []), check=d.get("check"), choice=d.get("choice")))
    return out


def evaluate_bart(runner, row, imgs, tag, reg, lam):
    """BART pics on the k-space lpnd simulated for each image; PSNR/SSIM as lpnd's (data range 1,
    output clipped to [0, 1] as the pipelines' output.clip)."""
    out = []
    for i, (ref, meas) in enumerate(measurements(runner, row, imgs, tag)):
        x = np.load(ref)
        t = time.time()
        rec = np.clip(pics(np.load(meas), reg, lam), 0.0, 1.0)
        seconds = time.time() - t
        path = os.path.join(runner.work, f"{row['id']}-{tag}-bart-{reg}-{lam}-{i}.npy")
        np.save(path, rec)
        psnr, ssim = clipped_metrics(rec, x)
        out.append(dict(psnr=psnr, ssim=ssim, seconds=seconds, rec=path, ref=ref, meas=meas, flags=[]))
    return out


def mean(xs):
    return float(np.mean(xs)) if xs else float("nan")


def grid(values, runs):
    """Mean PSNR of runs(v) for every v in values -> (the best v, {v: PSNR})."""
    scores = {v: mean([e["psnr"] for e in runs(v)]) for v in values}
    return max(scores, key=scores.get), scores


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=os.path.join(ROOT, ".build/release/lpnd"))
    ap.add_argument("--images", type=int, default=4, help="held-out images per row")
    ap.add_argument("--tune-images", type=int, default=1, help="training images for the ρ/λ search")
    ap.add_argument("--reuse-tuning", action="store_true",
                    help="take λ (TV, BART), θ (PGD) and the patches' ρ from docs/figures/results.json's earlier run")
    ap.add_argument("--tune", action="store_true",
                    help="also run LPN-ADMM's (model, ρ) grid on the training images (what noise_rule.RULE was fitted on)")
    ap.add_argument("--no-bart", action="store_true", help="skip the BART pics columns of the MRI rows")
    ap.add_argument("--out-of-domain", action="store_true",
                    help="only the out-of-domain table: every domain's model on every domain's images")
    ap.add_argument("--check-table", action="store_true",
                    help="only the check table: LPN-ADMM with `check` on every frame of the in-domain rows (--rows; default: "
                         "all but 256×256) against TV's PSNR on the same frames")
    ap.add_argument("--check-calibration", action="store_true",
                    help="only the check's margin: its calibration rows on --tune-images training images, every domain's model")
    ap.add_argument("--oracle", action="store_true",
                    help="also run LPN-ADMM's whole (model, ρ) grid on the held-out images (the best-grid column)")
    ap.add_argument("--kinds", default="",
                    help="with --out-of-domain or --check-calibration: rerun only these domains' models "
                         "(comma-separated: phantom, natural, mri) and keep the others' from the earlier JSON")
    ap.add_argument("--rows", default="", help="comma-separated row ids (default: all; with --check-table, `none` "
                                                "rewrites its table from docs/figures/check.json)")
    ap.add_argument("--symmetry", default="rule", choices=["rule", "none", "mirror", "flips", "dihedral"],
                    help="the LPN's whole-frame symmetry (default: the rule's, dihedral on square frames)")
    ap.add_argument("--box", default="on", choices=["on", "off"],
                    help="ADMM's box 0 ≤ x ≤ 1 for LPN-ADMM and TV-ADMM (default: on, the rule's)")
    ap.add_argument("--models", default=MODELS_DIR[0], help="directory with the domains' .safetensors (FAMILIES)")
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "results"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "RESULTS.md"))
    args = ap.parse_args()
    MODELS_DIR[0] = os.path.abspath(args.models)
    SYMMETRY[0] = args.symmetry
    BOX[0] = args.box == "on"
    runner = Runner(args.lpnd, args.work)
    if args.out_of_domain:
        return out_of_domain(runner, args)
    if args.check_table:
        return check_table(runner, args)
    if args.check_calibration:
        return check_calibration(runner, args)
    rows = [r for r in ROWS if not args.rows or r["id"] in args.rows.split(",")]
    previous = load_summary(args)
    results = {}
    bart_available = shutil.which("bart") is not None
    if not bart_available and not args.no_bart:
        print("no `bart` on PATH (Debian: apt-get install bart): the BART columns are left out", flush=True)
    for row in rows:
        models = family(row["kind"])
        if not models:
            print(f"skip {row['id']}: no {row['kind']} model in {MODELS_DIR[0]}", flush=True)
            continue
        t0 = time.time()
        model, rho = rule(row["kind"], row["noise"], *operator_traits(row))
        lam, theta = DEFAULTS["tv_lambda"], 1.0
        rho_patches = rho
        has_patches = os.path.exists(model_path(row["kind"], base=True))
        bart = row["operator"]["type"] == "mri" and not args.no_bart and bart_available
        bart_lam = {}
        tuning = {}
        try:
            train = images(row["kind"], row["size"], args.tune_images, heldout=False)
        except ImportError as e:
            print(f"skip {row['id']}: its images need {e.name} (pip install it)", flush=True)
            continue
        earlier = previous.get(row["id"], {}) if args.reuse_tuning else {}
        reuse = bool(earlier.get("tuning", {}).get("lambda"))
        if reuse:  # λ (TV, BART), θ (PGD) and the patches' ρ of an earlier run, same images
            lam, theta = earlier["lam"], earlier["theta"]
            rho_patches = earlier.get("rho_patches") or rho
            bart_lam = earlier.get("bart_lambda") or {}
            tuning = {k: v for k, v in earlier["tuning"].items() if k != "rho"}
        if args.tune:  # the LPN's grid on training images: what the rule's constants were fitted on
            _, scores = grid([(m, r) for m in models for r in RHO_GRID],
                             lambda v: evaluate(runner, row, "lpn-admm", train, "tune", rho=v[1], model=v[0]))
            tuning["rho"] = {f"{m} {r}": v for (m, r), v in scores.items()}
        elif reuse and "rho" in earlier.get("tuning", {}):
            tuning["rho"] = earlier["tuning"]["rho"]
        if not reuse:
            # LPN-PGD (a shipped option in mri-4x-pgd.yaml): θ tuned on training images
            theta, tuning["theta"] = grid(STRENGTH_GRID, lambda t: evaluate(runner, row, "lpn-pgd", train, "tune",
                                                                          theta=t, model=model))
            if has_patches:  # the patch column keeps its own tuned ρ (it runs the stage-1 model)
                rho_patches, tuning["rho_patches"] = grid(RHO_GRID, lambda r: evaluate(
                    runner, row, "lpn-admm-patches", train, "tune", rho=r))
            lam, tuning["lambda"] = grid(LAMBDA_GRID, lambda l: evaluate(runner, row, "tv", train, "tune", lam=l))
        for name, reg in (BART_METHODS.items() if bart else []):
            if name not in bart_lam:
                bart_lam[name], tuning[name] = grid(BART_LAMBDA_GRID,
                                                    lambda l: evaluate_bart(runner, row, train, "tune", reg, l))
        tuning["images"] = args.tune_images
        held = images(row["kind"], row["size"], args.images)
        per = {}
        for name, method in zip(METHODS, METHOD_KEYS):
            if method == "lpn-admm-patches" and not has_patches:
                continue
            per[name] = evaluate(runner, row, method, held, "held", rho=rho_patches if method == "lpn-admm-patches" else rho,
                                 lam=lam, theta=theta, model=None if method == "lpn-admm-patches" else model)
        for name, reg in (BART_METHODS.items() if bart else []):
            per[name] = evaluate_bart(runner, row, held, "held", reg, bart_lam[name])
        # the grid does not depend on the rule's ρ, but it does on the family's models, the prox's
        # symmetry and the box: an earlier grid of the same models and symmetry is kept with its
        # box setting (oracle_box), shown as such in the table
        earlier_row = previous.get(row["id"], {})
        same_prox = (earlier_row.get("oracle_symmetry", "none") == symmetry_for(row)
                     and all(k.split()[0] in models for k in earlier_row.get("oracle") or {}))
        oracle = (earlier_row.get("oracle") or {}) if same_prox else {}
        oracle_box = earlier_row.get("oracle_box", False) if oracle else None
        if args.oracle:  # every grid value on the held-out images: how far the rule's choice is from the best
            _, scores = grid([(m, r) for m in models for r in RHO_GRID],
                             lambda v: evaluate(runner, row, "lpn-admm", held, "held", rho=v[1], model=v[0]))
            oracle = {f"{m} {r}": v for (m, r), v in scores.items()}
            oracle_box = BOX[0]
        results[row["id"]] = dict(box=BOX[0], oracle_box=oracle_box, row=row, rho=rho, rho_patches=rho_patches if has_patches else None, lam=lam,
                                  theta=theta, model=model, symmetry=symmetry_for(row), bart_lambda=bart_lam, tuning=tuning, oracle=oracle, per=per,
                                  seconds=time.time() - t0)
        line = ", ".join(f"{m} {mean([e['psnr'] for e in per[m]]):.2f}" for m in per)
        print(f"{row['id']}: {model} ρ={rho} λ={lam} θ={theta}: {line} ({time.time() - t0:.0f} s)", flush=True)
        write_outputs({row["id"]: results[row["id"]]}, args)  # row by row: a long run keeps what it has
    figdir = os.path.join(os.path.dirname(args.doc), "figures")
    if "mri-4" in results:
        make_figures(results["mri-4"], figdir)
    if "mri-real-4-256" in results:
        brain_figure(results["mri-real-4-256"], figdir)


def write_outputs(results, args):
    figdir = os.path.join(os.path.dirname(args.doc), "figures")
    os.makedirs(figdir, exist_ok=True)
    summary_path = os.path.join(figdir, "results.json")
    summary = {}
    if os.path.exists(summary_path):  # rows from earlier runs stay unless re-run now
        summary = json.load(open(summary_path))
    for rid, r in results.items():
        stats = {}
        for m, runs in r["per"].items():
            ps, ss = [e["psnr"] for e in runs], [e["ssim"] for e in runs]
            stats[m] = dict(psnr=mean(ps), ssim=mean(ss), seconds=mean([e["seconds"] for e in runs]),
                            psnr_each=ps, flagged=sum(1 for e in runs if e.get("flags")))
        summary[rid] = dict(label=r["row"]["label"], kind=r["row"]["kind"], noise=r["row"]["noise"],
                            model=r["model"], symmetry=r["symmetry"], images=len(r["per"]["LPN-ADMM"]), stats=stats, rho=r["rho"],
                            rho_patches=r["rho_patches"], lam=r["lam"], theta=r["theta"],
                            bart_lambda=r["bart_lambda"], tuning=r["tuning"], oracle=r["oracle"],
                            oracle_symmetry=r["symmetry"] if r["oracle"] else None, box=r["box"],
                            oracle_box=r["oracle_box"],
                            generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=1, default=str)
    columns = METHODS[:4] + list(BART_METHODS) + METHODS[4:]
    choice_path = os.path.join(figdir, "choice.json")
    choice = json.load(open(choice_path))["main"] if os.path.exists(choice_path) else {}
    lines = ["| problem | images | model | " + " | ".join(columns)
             + " | with the choice (frames LPN/TV) | LPN-ADMM − TV (dB) | whole − patches (dB) | best (model, ρ) on held-out: LPN-ADMM − best "
             "| flagged LPN-ADMM frames | ρ (whole / patches) | θ (PGD) | λ (TV) | λ (BART ℓ1-wavelet / TV) |",
             "|" + "---|" * (len(columns) + 12)]
    for row in ROWS:
        if row["id"] not in summary:
            continue
        r = summary[row["id"]]
        if "LPN-ADMM" not in r["stats"] or "TV-ADMM" not in r["stats"]:
            continue  # a row from a run before this table's columns existed: rerun it
        st = r["stats"]
        cells = [f"{st[m]['psnr']:.2f} / {st[m]['ssim']:.3f}" if m in st else "—" for m in columns]
        gap = st["LPN-ADMM"]["psnr"] - st["TV-ADMM"]["psnr"]
        modes = (f"{st['LPN-ADMM']['psnr'] - st['LPN-ADMM (patches)']['psnr']:+.2f}"
                 if "LPN-ADMM (patches)" in st else "—")
        oracle = r.get("oracle") or {}
        best = max(oracle, key=oracle.get) if oracle else None
        # † : the grid ran without the box, the row with it
        stale = "†" if best and r.get("box", False) and not r.get("oracle_box", False) else ""
        best_cell = f"{best}{stale}: {st['LPN-ADMM']['psnr'] - oracle[best]:+.2f}" if best else "—"
        bl = r.get("bart_lambda") or {}
        bart_cell = " / ".join(str(bl[m]) for m in BART_METHODS if m in bl) or "—"
        symmetry = r.get("symmetry", "none")
        model_cell = r["model"] + (f", {symmetry}" if symmetry != "none" else "") + (", box" if r.get("box") else "")
        lines.append(f"| {r['label']} ({r['kind']}, noise {r['noise']}) | {r['images']} | {model_cell} | "
                     + " | ".join(cells) + f" | {choice_cell(choice[row['id']]) if row['id'] in choice else '—'} | {gap:+.2f} | {modes} | {best_cell} | {st['LPN-ADMM']['flagged']} "
                     f"| {r['rho']} / {r['rho_patches'] if r['rho_patches'] is not None else '—'} | {r['theta']} "
                     f"| {r['lam']} | {bart_cell} |")
    table = "\n".join(lines)
    replace_block(args.doc, "results", "Mean PSNR (dB) / SSIM over held-out images, by `benchmarks/results.py` "
                  f"(per-row dates and every number in `docs/figures/results.json`).\n\n{table}")
    print(table)


# The out-of-domain table: each domain's first in-domain problem, its held-out images, and every
# domain's model chosen and set by the rule for that problem's noise.
OOD_ROWS = {"phantom": "mri-4", "mri": "mri-real-4", "natural": "blur-1"}


def tv_per_frame(runner, row, held, summary):
    """(λ, TV-ADMM's PSNR per held-out frame): the main table's λ and numbers when they cover
    these images, else a TV run now."""
    rid = row["id"]
    lam = summary.get(rid, {}).get("lam", DEFAULTS["tv_lambda"])
    tv_each = summary.get(rid, {}).get("stats", {}).get("TV-ADMM", {}).get("psnr_each")  # same images, same λ
    if not tv_each or len(tv_each) != len(held):
        tv_each = [e["psnr"] for e in evaluate(runner, row, "tv", held, "held", lam=lam)]
    return lam, tv_each


def load_summary(args):
    path = os.path.join(os.path.dirname(args.doc), "figures", "results.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def reruns(args, kind: str) -> bool:
    """--kinds: whether `kind`'s model runs again (every kind's does without the option)."""
    return not args.kinds or kind in args.kinds.split(",")


def out_of_domain(runner, args):
    """Every domain's model on every domain's first problem, each pipeline with its `check`
    against TV at the row's λ; a frame counts as flagged with any flag."""
    summary = load_summary(args)
    kinds = [k for k in FAMILIES if family(k)]
    path = os.path.join(os.path.dirname(args.doc), "figures", "out_of_domain.json")
    earlier = json.load(open(path)) if os.path.exists(path) else {}
    table = {}
    for kind, rid in OOD_ROWS.items():
        row = next(r for r in ROWS if r["id"] == rid)
        held = images(kind, row["size"], args.images)
        lam, tv_each = tv_per_frame(runner, row, held, summary)
        table[rid] = dict(tv=mean(tv_each), lam=lam, models={})
        for k in kinds:
            model, rho = rule(k, row["noise"], *operator_traits(row))
            kept = earlier.get(rid, {}).get("models", {}).get(k)
            if not reruns(args, k) and kept and kept["model"] == model and kept["tv_each"] == tv_each:
                table[rid]["models"][k] = kept  # same model, ρ and frames as the earlier run
                continue
            runs = evaluate(runner, row, "lpn-admm", held, "held", rho=rho, model=model, check_lambda=lam)
            table[rid]["models"][k] = dict(model=model, rho=rho, symmetry=symmetry_for(row),
                                           psnr_each=[e["psnr"] for e in runs], tv_each=tv_each,
                                           flags_each=[e["flags"] for e in runs],
                                           check_db_each=[e["check"]["differenceDB"] for e in runs])
            print(f"ood {rid} {k}: {mean(table[rid]['models'][k]['psnr_each']):.2f} (TV {mean(tv_each):.2f})", flush=True)
    with open(path, "w") as f:
        json.dump(table, f, indent=1)
    write_ood_table(args)


def write_ood_table(args):
    """The out-of-domain table from out_of_domain.json, with the choice's entry from choice.json
    (benchmarks/results_choice.py) where it has the cell."""
    figures = os.path.join(os.path.dirname(args.doc), "figures")
    table = json.load(open(os.path.join(figures, "out_of_domain.json")))
    choice_path = os.path.join(figures, "choice.json")
    choice = json.load(open(choice_path)) if os.path.exists(choice_path) else {"main": {}, "ood": {}}
    kinds = [k for k in FAMILIES if family(k)]
    lines = ["| images (problem) | TV-ADMM | " + " | ".join(f"{k} model" for k in kinds) + " |",
             "|---|---:|" + "---|" * len(kinds)]
    for kind, rid in OOD_ROWS.items():
        row, t = next(r for r in ROWS if r["id"] == rid), table[rid]
        cells = []
        for k in kinds:
            m = t["models"][k]
            p, n = mean(m["psnr_each"]), len(m["psnr_each"])
            flagged = sum(1 for f in m["flags_each"] if f)
            under = [f for q, tv, f in zip(m["psnr_each"], m["tv_each"], m["flags_each"]) if q < tv - 1.0]
            silent = sum(1 for f in under if not f)
            mark = "" if k == kind else (" ✓" if not under else (" ✓ all such frames flagged" if not silent else f" ✗ {silent} silent"))
            c = choice["main"].get(rid) if k == kind else choice["ood"].get(rid, {}).get(k)
            chosen = f"; with the choice {choice_cell(c)}" if c else ""
            cells.append(f"{p:.2f} ({p - t['tv']:+.2f}), {flagged}/{n} flagged{mark}{chosen}")
        lines.append(f"| {kind}: {row['label']} | {t['tv']:.2f} | " + " | ".join(cells) + " |")
    replace_block(args.doc, "ood", "Mean PSNR (dB) of LPN-ADMM over the row's held-out images (difference to TV-ADMM), "
                  "frames flagged (any flag: `outside_prior`, or the check's `worse_than_reference`); out of domain: ✓ no frame more "
                  "than 1 dB under TV's on the same frame, \"✓ all such frames flagged\": every such frame is flagged, ✗ n silent: "
                  "n such frames carry no flag; \"with the choice\": mean PSNR with `check.choose` on every frame (frames "
                  "made by LPN / TV). `benchmarks/results.py --out-of-domain`, `benchmarks/results_choice.py`.\n\n" + "\n".join(lines))
    print("\n".join(lines))


def choice_cell(f) -> str:
    """Mean PSNR of the frames with the choice on, and how many the LPN / TV made."""
    n_lpn = sum(c == "lpn" for c in f["chosen_each"])
    return f"{mean(f['choice_each']):.2f} ({n_lpn}/{len(f['chosen_each']) - n_lpn})"


# The check table's default rows: every row but the 256×256 ones (CPU time: a checked frame
# costs 2K more reconstructions).
CHECK_ROWS = ["dense-0.5", "dense-0.25", "rconv-4", "rconv-16", "mri-4", "mri-8", "mri-real-4", "mri-real-8", "blur-1", "blur-2"]


# Margins the calibration considers (dB), and the problems it runs on training images: each
# domain's rows where the prior and TV are close (the MRI and deblurring rows), in-domain and
# with every other domain's model.
CHECK_MARGINS = [0.0, 0.25, 0.5, 0.75, 1.0]
CHECK_CALIBRATION_ROWS = ["mri-4", "mri-8", "mri-real-4", "mri-real-8", "blur-1", "blur-2"]


def check_calibration(runner, args):
    """The check's margin from training images (never the held-out ones): every calibration
    row on --tune-images training images, with its own domain's model and every other
    domain's. A frame more than 1 dB under TV's PSNR must be flagged (the issue's bar for out
    of domain); the margin is the largest of CHECK_MARGINS that misses none of them, and the
    frames above TV it flags (false alarms) are counted for every margin."""
    summary = load_summary(args)
    kinds = [k for k in FAMILIES if family(k)]
    path = os.path.join(os.path.dirname(args.doc), "figures", "check_calibration.json")
    earlier = json.load(open(path))["frames"] if os.path.exists(path) else []
    frames = []
    for rid in CHECK_CALIBRATION_ROWS:
        row = next(r for r in ROWS if r["id"] == rid)
        train = images(row["kind"], row["size"], args.tune_images, heldout=False)
        lam = summary.get(rid, {}).get("lam", DEFAULTS["tv_lambda"])
        tv = [e["psnr"] for e in evaluate(runner, row, "tv", train, "tune", lam=lam)]
        for k in kinds:
            model, rho = rule(k, row["noise"], *operator_traits(row))
            kept = [f for f in earlier if f["row"] == rid and f["model"] == model]
            if not reruns(args, k) and len(kept) == len(train):
                frames += kept  # same model, ρ and training images as the earlier run
                continue
            for e, t in zip(evaluate(runner, row, "lpn-admm", train, "tune", rho=rho, model=model, check_lambda=lam), tv):
                frames.append(dict(row=rid, model=model, own=k == row["kind"], lpn_minus_tv=e["psnr"] - t,
                                   check_db=e["check"]["differenceDB"]))
                print(frames[-1], flush=True)
    write_check_calibration(frames, args)


def write_check_calibration(frames, args):
    misses = {m: sum(1 for f in frames if f["lpn_minus_tv"] < -1 and f["check_db"] <= m) for m in CHECK_MARGINS}
    alarms = {m: sum(1 for f in frames if f["lpn_minus_tv"] > 0 and f["check_db"] > m) for m in CHECK_MARGINS}
    margin = max([m for m in CHECK_MARGINS if misses[m] == 0] or [min(CHECK_MARGINS)])
    out = dict(frames=frames, misses_by_margin=misses, false_alarms_by_margin=alarms, margin=margin,
               images=args.tune_images, frames_under_tv_by_1db=sum(1 for f in frames if f["lpn_minus_tv"] < -1),
               frames_over_tv=sum(1 for f in frames if f["lpn_minus_tv"] > 0))
    with open(os.path.join(os.path.dirname(args.doc), "figures", "check_calibration.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"misses by margin {misses}, false alarms {alarms}: margin {margin} dB", flush=True)


def check_table(runner, args):
    """Each in-domain row's LPN-ADMM (the rule's model and ρ) with `check` on every frame,
    against ground truth: is a frame flagged worse_than_reference exactly when its PSNR is
    under TV-ADMM's on the same frame?"""
    summary = load_summary(args)
    rows = [r for r in ROWS if r["id"] in (args.rows.split(",") if args.rows else CHECK_ROWS)]
    table_path = os.path.join(os.path.dirname(args.doc), "figures", "check.json")
    table = json.load(open(table_path)) if os.path.exists(table_path) else {}  # rows not rerun are kept
    for row in rows:
        held = images(row["kind"], row["size"], args.images)
        lam, tv_each = tv_per_frame(runner, row, held, summary)
        model, rho = rule(row["kind"], row["noise"], *operator_traits(row))
        runs = evaluate(runner, row, "lpn-admm", held, "held", rho=rho, model=model, check_lambda=lam)
        diff = [e["psnr"] - t for e, t in zip(runs, tv_each)]
        flagged = ["worse_than_reference" in e["flags"] for e in runs]
        db = [e["check"]["differenceDB"] for e in runs]
        secs = mean([e["check"]["seconds"] for e in runs])
        table[row["id"]] = dict(label=row["label"], model=model, rho=rho, lam=lam, lpn_minus_tv=diff, flagged=flagged,
                                check_db=db, check_seconds=secs)
        print(row["id"], table[row["id"]], flush=True)
        with open(table_path, "w") as f:
            json.dump(table, f, indent=1)
    write_check_table(table, args)


def write_check_table(table, args):
    """The `check` block of RESULTS.md from check.json's rows."""
    lines = ["| row | LPN − TV (dB, mean) | frames > 1 dB under TV: flagged | frames over TV: flagged (false alarms) | "
             "other frames: flagged | check (dB, per frame) | check s/frame |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for rid in [r["id"] for r in ROWS if r["id"] in table]:
        t = table[rid]
        d, f = t["lpn_minus_tv"], t["flagged"]
        def count(sel):
            idx = [i for i in range(len(d)) if sel(d[i])]
            return f"{sum(f[i] for i in idx)}/{len(idx)}"
        lines.append(f"| {t['label']} | {mean(d):+.2f} | {count(lambda v: v < -1)} | {count(lambda v: v > 0)} | "
                     f"{count(lambda v: -1 <= v <= 0)} | {', '.join(f'{x:+.2f}' for x in t['check_db'])} | {t['check_seconds']:.1f} |")
    replace_block(args.doc, "check", f"LPN-ADMM with the rule's model and ρ, every frame checked ({CHECK_FOLDS} folds, TV "
                  "reference at the row's λ, margin 0 dB), against ground truth on the row's held-out images: each cell "
                  "counts the frames flagged `worse_than_reference` among the frames whose PSNR is more than 1 dB under "
                  "TV-ADMM's on the same frame (should be flagged), over it (should not), and in between. "
                  "`benchmarks/results.py --check-table`, or `benchmarks/results_choice.py`, which runs the same checks "
                  "on the same frames (check s/frame: one thread, with other work on the machine).\n\n" + "\n".join(lines))
    print("\n".join(lines))


def brain_figure(r, figdir):
    """docs/figures/reconstructions_brain.png: a real brain slice, every method on one k-space."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    per = r["per"]
    names = [m for m in ["LS / zero-filled", "BART pics ℓ1-wavelet", "BART pics TV", "TV-ADMM", "LPN-ADMM"] if m in per]
    panels = [("ground truth", np.load(per["LPN-ADMM"][0]["ref"]), None)]
    panels += [(m, np.load(per[m][0]["rec"]), per[m][0]["psnr"]) for m in names]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.8 * len(panels), 3.3))
    for ax, (title, img, psnr) in zip(axes, panels):
        ax.imshow(np.clip(img, 0, 1)[40:216, 40:216], cmap="gray", vmin=0, vmax=1)
        ax.set_title(title if psnr is None else f"{title}\n{psnr:.2f} dB", fontsize=9)
        ax.axis("off")
    fig.suptitle(r["row"]["label"] + f" — dipy's T1 slice (held out), LPN: {r['model']}, ρ = {r['rho']} (centre 176×176)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(os.path.join(figdir, "reconstructions_brain.png"), dpi=100)
    plt.close(fig)


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
