#!/usr/bin/env python3
"""Store each shipped model's prior range in the model file (lpnd calibrate).

For every model: 64 of its own training images (128 x 128, drawn with a fixed seed from
training/data.py's training stream, never the held-out set) go to `lpnd calibrate`, which
measures phi(f(x)) per pixel and the RMS displacement ||f(x) - x|| / sqrt(pixels) with
whole-frame processing and writes their [min, max] into the model's metadata. Reconstructions
above that range are flagged outside_prior (docs/PROTOCOL.md, docs/MODELS.md). The padding
each model is served with by default is stored alongside: the padding it was fine-tuned with
(its models/<name>/train_config.json), zero for a model without one.

    python3 training/calibrate.py --lpnd .build/release/lpnd [--models phantom,natural]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

from data import Source, model_data_kind
from shared import LPND, MODELS, run


def training_padding(models_dir: str, name: str) -> str:
    """The whole-frame padding the model was fine-tuned with (why each: docs/MODELS.md)."""
    config = os.path.join(models_dir, name, "train_config.json")
    if not os.path.isfile(config):
        return "zero"
    with open(config) as fh:
        args = json.load(fh)["args"]
    return args["padding"] if args.get("frame") else "zero"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=LPND)
    ap.add_argument("--models", default="phantom,natural", help="comma-separated model names (data kind: the run's train_config.json, or the name before '-')")
    ap.add_argument("--dir", default=MODELS)
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--size", type=int, default=128)
    a = ap.parse_args()
    for name in a.models.split(","):
        kind = model_data_kind(a.dir, name)
        x = Source(kind, a.size).batch(np.random.default_rng(424242), a.images)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "calibration.npy")
            np.save(path, x.astype(np.float32))
            model = os.path.join(a.dir, f"{name}.safetensors")
            out = run([a.lpnd, "calibrate", "--model", model, "--images", path, "--padding", training_padding(a.dir, name)])
        print(f"{name}: {out.strip()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
