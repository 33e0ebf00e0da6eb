"""The `check` on multi-coil MRI against ground truth (docs/RESULTS.md, "Multi-coil MRI").

For pipelines/mri-mc-4x.yaml and mri-mc-8x.yaml on the four held-out real brain slices: the
shipped pipeline with `check` on every frame (TV reference at the row's tuned λ,
docs/figures/multicoil.json), and at 4× the same pipeline with the natural and the phantom
model (ρ by the rule), each frame's check against the PSNR difference to TV-ADMM (the same
pipeline with the TV prior, 60 iterations) on the same k-space. Writes
docs/figures/check_multicoil.json. Needs nilearn, nibabel, dipy (the slices).

    python3 benchmarks/multicoil_check.py --lpnd .build/release/lpnd
"""
import argparse
import json
import os
import tempfile

from common import LPND, PIPELINES, ROOT, Runner, load_pipeline, variant
from noise_rule import operator_traits, rule
import data as datasets  # training/data.py

# row → the other domains whose model (and ρ, by the noise-level rule) is tried on it besides the
# pipeline's own; TV's λ is the row's in docs/figures/multicoil.json (tuned on training slices).
ROWS = {"mri-mc-4x": ["natural", "phantom"], "mri-mc-8x": []}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    a = ap.parse_args()
    lpnd = Runner(a.lpnd, tempfile.mkdtemp(prefix="lpnd-mc-check-"))
    held = datasets.Source("mri", 128).heldout(4, seed=0)[:, 0]

    def reconstruct(pipeline, y, ref, name):
        return lpnd.reconstruct(pipeline, y, ref, lpnd.path(name + ".npy"), lpnd.path(name + ".json"))

    tuned = {r["row"]: r["tv_lambda"] for r in json.load(open(os.path.join(ROOT, "docs", "figures", "multicoil.json")))["rows"]}
    out = {}
    for row, foreign in ROWS.items():
        lam = tuned[row]
        shipped = os.path.join(PIPELINES, row + ".yaml")
        p = load_pipeline(shipped)
        own = os.path.basename(p["prior"]["model"]).removesuffix(".safetensors")
        models = [(own, p["solver"]["rho"])] + [rule(k, p["simulation"]["noise"], *operator_traits(p), box=p["solver"].get("box", False))
                                                for k in foreign]
        tv_path = variant(shipped, lpnd.work, row + "-tv", {"prior": {"type": "tv", "lambda": lam}, "solver.iterations": 60})
        paths = {model: variant(shipped, lpnd.work, f"{row}-{model}", {"prior.model": f"../models/{model}.safetensors", "solver.rho": rho,
                                                                       "check": {"every": 1, "reference": {"lambda": lam}}})
                 for model, rho in models}
        frames = []
        for i, x in enumerate(held):
            ref, y = lpnd.simulate(tv_path, x, f"{row}-{i}")
            t = reconstruct(tv_path, y, ref, f"{row}-tv-{i}")["psnr"]
            for model, path in paths.items():
                d = reconstruct(path, y, ref, f"{row}-{model}-{i}")
                frames.append(dict(frame=i, model=model, own=model == own, lpn_minus_tv=d["psnr"] - t,
                                   check_db=d["check"]["differenceDB"], flags=d["flags"], check_seconds=d["check"]["seconds"]))
                print(row, frames[-1], flush=True)
        out[row] = dict(tv_lambda=lam, frames=frames)
    with open(os.path.join(ROOT, "docs", "figures", "check_multicoil.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
