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
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))
import data as datasets  # noqa: E402

# row → the foreign models tried on it besides the pipeline's own (model, ρ by the rule); TV's λ
# is the row's in docs/figures/multicoil.json (tuned on training slices).
ROWS = {"mri-mc-4x": [("natural-s05", 0.08), ("phantom", 0.04)], "mri-mc-8x": []}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=os.path.join(ROOT, ".build/release/lpnd"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="lpnd-mc-check-")
    held = datasets.Source("mri", 128).heldout(4, seed=0)[:, 0]

    def lpnd(*args):
        subprocess.run([a.lpnd, *args], check=True, capture_output=True)

    def reconstruct(pipeline, y, ref, name):
        d = os.path.join(work, name + ".json")
        lpnd("reconstruct", "--pipeline", pipeline, "--input", y, "--output", d + ".npy", "--diagnostics", d, "--reference", ref)
        return json.load(open(d))

    tuned = {r["row"]: r["tv_lambda"] for r in json.load(open(os.path.join(ROOT, "docs", "figures", "multicoil.json")))["rows"]}
    out = {}
    for row, foreign in ROWS.items():
        lam = tuned[row]
        text = open(os.path.join(ROOT, "pipelines", row + ".yaml")).read()
        own, own_rho = re.search(r"model: \.\./models/(.+)\.safetensors", text).group(1), float(re.search(r"  rho: (.+)", text).group(1))
        models = [(own, own_rho)] + foreign
        text = text.replace("../models/", os.path.join(ROOT, "models") + "/")
        text = re.sub(r"(?m)^check:\n(?:[ #].*\n?)*", "", text)
        tv = re.sub(r"prior:\n(  .*\n)+", f"prior:\n  type: tv\n  lambda: {lam}\n", text).replace("  iterations: 30\n", "  iterations: 60\n")
        tv_path = os.path.join(work, row + "-tv.yaml")
        open(tv_path, "w").write(tv)
        frames = []
        for i, x in enumerate(held):
            ref, y = os.path.join(work, f"x{i}.npy"), os.path.join(work, f"{row}-y{i}.npy")
            np.save(ref, x.astype(np.float32))
            lpnd("simulate", "--pipeline", tv_path, "--input", ref, "--output", y)
            t = reconstruct(tv_path, y, ref, f"{row}-tv-{i}")["psnr"]
            for model, rho in models:
                p = os.path.join(work, f"{row}-{model}.yaml")
                open(p, "w").write(text.replace(f"/{own}.safetensors", f"/{model}.safetensors").replace(f"  rho: {own_rho:g}\n", f"  rho: {rho}\n")
                                   + f"check:\n  every: 1\n  reference:\n    lambda: {lam}\n")
                d = reconstruct(p, y, ref, f"{row}-{model}-{i}")
                frames.append(dict(frame=i, model=model, own=model == own, lpn_minus_tv=d["psnr"] - t,
                                   check_db=d["check"]["differenceDB"], flags=d["flags"], check_seconds=d["check"]["seconds"]))
                print(row, frames[-1], flush=True)
        out[row] = dict(tv_lambda=lam, frames=frames)
    with open(os.path.join(ROOT, "docs", "figures", "check_multicoil.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
