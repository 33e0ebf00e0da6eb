#!/usr/bin/env python3
"""The per-stream prior choice (check.choose) against ground truth.

For each family of held-out 128x128 images -- soft phantoms (the phantom model's own kind),
hard-edged phantoms (training/data.py's hard_phantom, held-out seeds), the Shepp-Logan
phantom (scikit-image; never trained on) and real brain slices (dipy) -- every image is
simulated once with `lpnd simulate` through the MRI 4x pipeline, then reconstructed three ways
with `lpnd reconstruct`: the learned prior alone (mri-4x.yaml as shipped, without check), TV
alone (mri-4x-tv.yaml), and mri-4x.yaml with `check: {choose: true}` (each frame its own stream:
every frame is checked). Prints one row per family: mean PSNR of each, how many frames chose
which prior, the worst frame of the choice against the better of the two, and the choice's
seconds per frame.

    pip install scikit-image dipy nibabel pyyaml    # Shepp-Logan, the real brain slices, the pipeline files
    python3 benchmarks/choice.py --lpnd .build/release/lpnd [--count 4] [--model models/phantom.safetensors]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

from common import LPND, PIPELINES, Runner, load_pipeline, variant
import data as datasets  # training/data.py


def families(count: int) -> dict:
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize
    shepp = np.clip(resize(shepp_logan_phantom(), (128, 128), anti_aliasing=True), 0, 1).astype(np.float32)
    hard = [datasets.hard_phantom(np.random.default_rng(datasets.HELDOUT_SEED_BASE + 500_000 + i), 128) for i in range(count)]
    return {
        "soft phantoms (held out)": list(datasets.Source("phantom", 128, augment=False).heldout(count)[:, 0]),
        "hard-edged phantoms (held out)": hard,
        "Shepp-Logan": [shepp],
        "real brain (dipy)": datasets.mri_heldout(128)[:count],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--count", type=int, default=4, help="images per family (Shepp-Logan: 1)")
    ap.add_argument("--model", help="the learned prior's model file (default: the pipeline's)")
    ap.add_argument("--hysteresis", type=float, default=0.3)
    ap.add_argument("--json", help="also write every frame's numbers here")
    a = ap.parse_args()
    shipped = os.path.join(PIPELINES, "mri-4x.yaml")
    check = dict(load_pipeline(shipped)["check"], choose=True, hysteresis_db=a.hysteresis)
    model = {"prior.model": os.path.abspath(a.model)} if a.model else {}
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        lpnd = Runner(a.lpnd, tmp)
        paths = {
            "lpn": variant(shipped, tmp, "lpn", dict(model, name="lpn")),
            "tv": variant(os.path.join(PIPELINES, "mri-4x-tv.yaml"), tmp, "tv", dict(name="tv")),
            "choice": variant(shipped, tmp, "choice", dict(model, name="choice", check=check)),
        }
        print("| images | frames | LPN-ADMM | TV-ADMM | with the choice | chose LPN / TV | choice − better (worst frame) | choice s/frame |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for family, images in families(a.count).items():
            rows = []
            for i, x in enumerate(images):
                ref, meas = lpnd.simulate(paths["lpn"], x, str(i))
                d = {method: lpnd.reconstruct(path, meas, ref, lpnd.path(f"{method}{i}.npy"), lpnd.path(f"{method}{i}.json"))
                     for method, path in paths.items()}
                chosen = d["choice"]["choice"]["chosen"]
                rows.append(dict(family=family, image=i, lpn=d["lpn"]["psnr"], tv=d["tv"]["psnr"], choice=d["choice"]["psnr"],
                                 chosen=chosen, difference_db=d["choice"]["check"]["differenceDB"],
                                 seconds=d["choice"]["totalSeconds"]))
            frames += rows
            gaps = [r["choice"] - max(r["lpn"], r["tv"]) for r in rows]
            n_lpn = sum(r["chosen"] == "lpn" for r in rows)
            print(f"| {family} | {len(rows)} | {np.mean([r['lpn'] for r in rows]):.2f} | {np.mean([r['tv'] for r in rows]):.2f} | "
                  f"{np.mean([r['choice'] for r in rows]):.2f} | {n_lpn} / {len(rows) - n_lpn} | "
                  f"{np.mean(gaps):+.2f} ({min(gaps):+.2f}) | {np.mean([r['seconds'] for r in rows]):.1f} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(frames, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
