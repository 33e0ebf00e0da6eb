#!/usr/bin/env python3
"""The per-stream prior choice (`check.choose`, docs/MATH.md §6) on every row of RESULTS.md's
main and out-of-domain tables, against ground truth.

Every held-out frame of a row is reconstructed three ways through `lpnd reconstruct`: LPN-ADMM
(the rule's model and ρ, as the main table), TV-ADMM (the row's λ) and LPN-ADMM with
`check: {every: 1, choose: true}` (4 folds, TV reference at the row's λ, the shipped hysteresis).
Each frame is its own stream, so every frame is checked and its verdict picks the prior that
makes it. Out of domain: each domain's first problem with every domain's model, as that table.

    python3 benchmarks/results_choice.py [--rows mri-4,blur-1] [--no-main] [--no-ood] [--images 4] [--reuse]

Writes docs/figures/choice.json (every frame's numbers), the `choice` block of docs/RESULTS.md,
and rewrites the main and out-of-domain tables, whose "with the choice" entries come from it.
Its checks are the check table's and the out-of-domain table's (same frames and settings): their
verdicts and `worse_than_reference` flags are refreshed from this run too.
Needs what results.py needs for the rows' images.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from common import LPND, ROOT, Runner, replace_block
import results as R


def frames(runner, row, held, model, rho, lam, earlier=None):
    """Per frame: the LPN's, TV's and the choice's PSNR, the chosen prior, the check's dB (the
    verdict and each fold's). `earlier`: this row's entry of a previous run; its LPN and TV
    columns are kept when its model, ρ, λ and frame count are this run's (--reuse)."""
    same = earlier and (earlier["model"], earlier["rho"], earlier["lam"], len(earlier["lpn_each"])) == (model, rho, lam, len(held))
    if same:
        kept = {k: earlier[k] for k in ("lpn_each", "tv_each", "lpn_seconds_each")}
    else:
        lpn = R.evaluate(runner, row, "lpn-admm", held, "held", rho=rho, model=model)
        tv = R.evaluate(runner, row, "tv", held, "held", lam=lam)
        kept = dict(lpn_each=[e["psnr"] for e in lpn], tv_each=[e["psnr"] for e in tv],
                    lpn_seconds_each=[e["seconds"] for e in lpn])
    chosen = R.evaluate(runner, row, "lpn-admm", held, "held", rho=rho, model=model, check_lambda=lam, choose=True)
    return dict(model=model, rho=rho, lam=lam, **kept,
                choice_each=[e["psnr"] for e in chosen],
                chosen_each=[e["choice"]["chosen"] for e in chosen],
                check_db_each=[e["check"]["differenceDB"] for e in chosen],
                check_seconds_each=[e["check"]["seconds"] for e in chosen],
                fold_db_each=[e["check"].get("foldDifferencesDB") for e in chosen],
                seconds_each=[e["seconds"] for e in chosen])


def summary_of(f):
    """Means and the bars: the choice against the better of LPN and TV on each frame, and against TV."""
    lpn, tv, ch = (np.array(f[k]) for k in ("lpn_each", "tv_each", "choice_each"))
    better = np.maximum(lpn, tv)
    return dict(lpn=float(lpn.mean()), tv=float(tv.mean()), choice=float(ch.mean()),
                n_lpn=sum(c == "lpn" for c in f["chosen_each"]), n=len(ch),
                minus_better=float(ch.mean() - better.mean()), worst_vs_tv=float((ch - tv).min()),
                minus_lpn=float(ch.mean() - lpn.mean()), seconds=float(np.mean(f["seconds_each"])),
                lpn_seconds=float(np.mean(f["lpn_seconds_each"])))


def refresh_verdicts(table, args):
    """Every frame here was checked, with the settings of the check table's rows and of the
    out-of-domain table's cells (the rule's model and ρ, 4 folds, TV at the row's λ, margin 0):
    the verdicts measured here replace theirs in docs/figures/check.json and out_of_domain.json
    (the flag `worse_than_reference` is verdict > 0; `outside_prior` does not depend on the check)."""
    figures = os.path.join(os.path.dirname(args.doc), "figures")
    check_path, ood_path = os.path.join(figures, "check.json"), os.path.join(figures, "out_of_domain.json")
    check = json.load(open(check_path)) if os.path.exists(check_path) else {}
    for rid, f in table["main"].items():
        if rid not in R.CHECK_ROWS or "check_seconds_each" not in f:
            continue
        row = next(r for r in R.ROWS if r["id"] == rid)
        check[rid] = dict(label=row["label"], model=f["model"], rho=f["rho"], lam=f["lam"],
                          lpn_minus_tv=[a - b for a, b in zip(f["lpn_each"], f["tv_each"])],
                          flagged=[d > 0 for d in f["check_db_each"]], check_db=f["check_db_each"],
                          check_seconds=float(np.mean(f["check_seconds_each"])))
    with open(check_path, "w") as fh:
        json.dump(check, fh, indent=1)
    R.write_check_table(check, args)
    ood = json.load(open(ood_path))
    for kind, rid in R.OOD_ROWS.items():
        for k, m in ood[rid]["models"].items():
            f = table["main"].get(rid) if k == kind else table["ood"].get(rid, {}).get(k)
            if not f or f["model"] != m["model"] or len(f["check_db_each"]) != len(m["flags_each"]):
                continue
            m["check_db_each"] = f["check_db_each"]
            m["flags_each"] = [[x for x in flags if x != "worse_than_reference"] + (["worse_than_reference"] if d > 0 else [])
                               for flags, d in zip(m["flags_each"], f["check_db_each"])]
            m["flagged"] = sum(1 for x in m["flags_each"] if x)
            m["silent_losses"] = sum(1 for q, tv, x in zip(m["psnr_each"], m["tv_each"], m["flags_each"]) if q < tv - 1 and not x)
    with open(ood_path, "w") as fh:
        json.dump(ood, fh, indent=1)


def load(doc):
    path = os.path.join(os.path.dirname(doc), "figures", "choice.json")
    return path, (json.load(open(path)) if os.path.exists(path) else {"main": {}, "ood": {}})


def write_block(table, doc):
    lines = ["| images (problem) | model | frames | LPN-ADMM | TV-ADMM | with the choice | chose LPN / TV "
             "| choice − better (mean) | choice − TV (worst frame) | choice − LPN-ADMM | s/frame: choice / LPN-ADMM |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    entries = [(rid, f, "") for rid, f in table["main"].items()]
    entries += [(rid, f, " (out of domain)") for rid, cells in table["ood"].items() for k, f in cells.items()
                if next(r for r in R.ROWS if r["id"] == rid)["kind"] != k]
    order = [r["id"] for r in R.ROWS]
    for rid, f, note in sorted(entries, key=lambda e: (order.index(e[0]), e[2])):
        row = next(r for r in R.ROWS if r["id"] == rid)
        s = summary_of(f)
        lines.append(f"| {row['kind']}: {row['label']}{note} | {f['model']} | {s['n']} | {s['lpn']:.2f} | {s['tv']:.2f} "
                     f"| {s['choice']:.2f} | {s['n_lpn']} / {s['n'] - s['n_lpn']} | {s['minus_better']:+.2f} "
                     f"| {s['worst_vs_tv']:+.2f} | {s['minus_lpn']:+.2f} | {s['seconds']:.1f} / {s['lpn_seconds']:.1f} |")
    replace_block(doc, "choice-rows", "Every frame checked and its winner published (`check: {every: 1, choose: true}`, 4 folds; "
                    "each frame is its stream's first check, so the sign of the verdict decides); \"better\" is the "
                    "better of LPN-ADMM and TV-ADMM on each frame; s/frame: wall time of `lpnd reconstruct`, one thread, "
                    "with other work on the machine (docs/BENCHMARKS.md has the clean on/off comparison). "
                    "`benchmarks/results_choice.py`, every frame in `docs/figures/choice.json`.\n\n" + "\n".join(lines))
    print("\n".join(lines), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--rows", default="", help="comma-separated main-table row ids (default: all)")
    ap.add_argument("--no-main", action="store_true", help="only the out-of-domain cells")
    ap.add_argument("--no-ood", action="store_true", help="only the main table's rows")
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "results"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "RESULTS.md"))
    ap.add_argument("--reuse", action="store_true",
                    help="keep each row's LPN-ADMM and TV-ADMM columns from docs/figures/choice.json where its model, ρ, λ "
                         "and frame count are unchanged (rerun only the choice)")
    args = ap.parse_args()
    runner = Runner(args.lpnd, args.work)
    summary = R.load_summary(args)
    path, table = load(args.doc)

    def save():
        with open(path, "w") as fh:
            json.dump(table, fh, indent=1)
        write_block(table, args.doc)

    if not args.no_ood:
        for kind, rid in R.OOD_ROWS.items():
            row = next(r for r in R.ROWS if r["id"] == rid)
            held = R.images(kind, row["size"], args.images)
            lam = summary[rid]["lam"]
            for k in (k for k in R.FAMILIES if R.family(k) and k != kind):
                model, rho = R.rule(k, row["noise"], *R.operator_traits(row))
                earlier = table["ood"].get(rid, {}).get(k) if args.reuse else None
                table["ood"].setdefault(rid, {})[k] = frames(runner, row, held, model, rho, lam, earlier)
                print(f"ood {rid} {k}: {summary_of(table['ood'][rid][k])}", flush=True)
                save()
    if not args.no_main:
        for row in (r for r in R.ROWS if not args.rows or r["id"] in args.rows.split(",")):
            held = R.images(row["kind"], row["size"], args.images)
            model, rho = R.rule(row["kind"], row["noise"], *R.operator_traits(row))
            earlier = table["main"].get(row["id"]) if args.reuse else None
            table["main"][row["id"]] = frames(runner, row, held, model, rho, summary[row["id"]]["lam"], earlier)
            print(f"{row['id']}: {summary_of(table['main'][row['id']])}", flush=True)
            save()
    refresh_verdicts(table, args)
    R.write_outputs({}, args)
    R.write_ood_table(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
