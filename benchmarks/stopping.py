#!/usr/bin/env python3
"""When may LPN-ADMM stop? The RESULTS rows at a fixed iteration count against stopping on the
relative change of x, ‖xₖ − xₖ₋₁‖ / ‖xₖ₋₁‖ < tolerance, with everything else as in
benchmarks/results.py (the rule's model and ρ, the same held-out images and k-space).

    python3 benchmarks/stopping.py --lpnd .build/release/lpnd [--tolerances 1e-3,2e-3,5e-3] [--rows …]
                                   [--padding reflect]

--padding serves the model with another frame padding in the stopped runs (the fixed-count
baseline keeps the model's own), to price a cheaper configuration on the same rows.

Prints, per row, mean PSNR at the fixed count, then for each tolerance the mean iterations run
and the PSNR difference (dB, mean and worst frame) to the fixed count; writes the same to
docs/figures/stopping.json. The issue's bar: within ±0.1 dB on every row.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from common import LPND, ROOT, Runner
import results as R  # rows, rule, pipelines


def run(runner, row, imgs, model, rho, tolerance, tag, padding=None):
    """LPN-ADMM on the row's held-out images with `tolerance` -> [(PSNR, iterations)]."""
    p = R.pipeline(row, "lpn-admm", rho=rho, model=model)
    p["solver"]["tolerance"] = tolerance
    p["name"] += f"-{tag}-tol{tolerance:g}"
    if padding:
        p["prior"]["padding"] = padding
        p["name"] += f"-{padding}"
    path = runner.write_pipeline(p)
    out = []
    for i, (ref, meas) in enumerate(R.measurements(runner, row, imgs, tag)):
        d = runner.reconstruct(path, meas, ref, runner.path(f"{p['name']}-{i}.npy"), runner.path(f"{p['name']}-{i}.json"))
        out.append((d["psnr"], d["iterations"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--tolerances", default="1e-3,2e-3,5e-3")
    ap.add_argument("--rows", default="")
    ap.add_argument("--padding", default=None, choices=["zero", "reflect", "circular", "none"])
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "results"))
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "figures", "stopping.json"))
    a = ap.parse_args()
    tolerances = [float(t) for t in a.tolerances.split(",")]
    runner = Runner(a.lpnd, a.work)
    table = {}
    if a.padding:
        print(f"stopped runs with padding: {a.padding}")
    print("| row | model, ρ | iterations | PSNR | " + " | ".join(f"tol {t:g}: it, ΔPSNR mean / worst" for t in tolerances) + " |")
    print("|---|---|---:|---:|" + "---|" * len(tolerances))
    for row in R.ROWS:
        if a.rows and row["id"] not in a.rows.split(","):
            continue
        if not R.family(row["kind"]):
            continue
        try:
            imgs = R.images(row["kind"], row["size"], a.images)
        except ImportError as e:
            print(f"skip {row['id']}: its images need {e.name}", file=sys.stderr)
            continue
        model, rho = R.rule(row["kind"], row["noise"], *R.operator_traits(row))
        fixed = run(runner, row, imgs, model, rho, 0.0, "held")
        entry = dict(model=model, rho=rho, iterations=fixed[0][1], psnr=[p for p, _ in fixed], tolerances={})
        cells = []
        for t in tolerances:
            stopped = run(runner, row, imgs, model, rho, t, "held", a.padding)
            deltas = [s - f for (s, _), (f, _) in zip(stopped, fixed)]
            its = [n for _, n in stopped]
            entry["tolerances"][f"{t:g}"] = dict(iterations=its, delta=deltas)
            cells.append(f"{sum(its) / len(its):.1f}, {sum(deltas) / len(deltas):+.2f} / {min(deltas):+.2f}")
        table[row["id"]] = entry
        mean_psnr = sum(entry["psnr"]) / len(entry["psnr"])
        print(f"| {row['label']} | {model}, {rho:g} | {entry['iterations']} | {mean_psnr:.2f} | " + " | ".join(cells) + " |",
              flush=True)
    if a.padding:
        path = a.json.replace(".json", f"_{a.padding}.json")
    else:
        path = a.json
    with open(path, "w") as f:
        json.dump(table, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
