#!/usr/bin/env python3
"""Convert a reference LPN checkpoint (model.pt + model_config.json) to lpnd's format.

    python3 training/convert_checkpoint.py --checkpoint DIR_OR_model.pt \
        [--config model_config.json] [--size 128] --noise-level 0.1 --output out.safetensors

model.pt is torch.save({"model_state_dict": sd, ...}) (a bare state_dict is accepted too);
model_config.json is {"model": "lpn_128", "params": {"in_dim", "hidden", "beta", "alpha"}}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

from lpn_torch import LPN, CONSTRAINED, check_state_dict


def fail(msg: str) -> None:
    print(f"convert_checkpoint: error: {msg}", file=sys.stderr)
    sys.exit(2)


def resolve_paths(checkpoint: str, config: str | None):
    if os.path.isdir(checkpoint):
        ckpt = os.path.join(checkpoint, "model.pt")
        cfg = config or os.path.join(checkpoint, "model_config.json")
    else:
        ckpt = checkpoint
        cfg = config or os.path.join(os.path.dirname(os.path.abspath(checkpoint)),
                                     "model_config.json")
    if not os.path.isfile(ckpt):
        fail(f"checkpoint file not found: {ckpt}")
    if not os.path.isfile(cfg):
        fail(f"config file not found: {cfg} (pass --config)")
    return ckpt, cfg


def load_config(path: str):
    try:
        with open(path) as fh:
            cfg = json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"cannot read config {path}: {e}")
    if cfg.get("model") != "lpn_128":
        fail(f"{path}: model is {cfg.get('model')!r}; only 'lpn_128' is supported")
    params = cfg.get("params")
    if not isinstance(params, dict):
        fail(f"{path}: missing 'params' object")
    for k in ("in_dim", "hidden", "beta", "alpha"):
        if k not in params:
            fail(f"{path}: params lacks '{k}'")
    return params


def load_state_dict(path: str):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        fail(f"cannot load {path}: {e}")
    if isinstance(obj, dict) and "model_state_dict" in obj:
        sd = obj["model_state_dict"]
    elif isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        sd = obj
    else:
        fail(f"{path}: no 'model_state_dict' in the checkpoint")
    # tolerate a DataParallel "module." prefix
    return {(k[7:] if k.startswith("module.") else k): v for k, v in sd.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="directory with model.pt, or model.pt")
    ap.add_argument("--config", help="model_config.json (default: next to the checkpoint)")
    ap.add_argument("--size", type=int, default=128, help="input size N (default 128)")
    ap.add_argument("--noise-level", type=float, required=True, help="training noise s")
    ap.add_argument("--output", required=True, help="output .safetensors path")
    ap.add_argument("--name", help="optional model name stored in the metadata")
    ap.add_argument("--description", help="optional description stored in the metadata")
    args = ap.parse_args(argv)

    ckpt, cfg = resolve_paths(args.checkpoint, args.config)
    p = load_config(cfg)
    sd = load_state_dict(ckpt)
    c, h = int(p["in_dim"]), int(p["hidden"])
    if args.size % 8 != 0:
        fail(f"--size must be a multiple of 8, got {args.size}")
    try:
        check_state_dict(sd, c, h, args.size)
    except ValueError as e:
        fail(f"{ckpt}: {e}")
    model = LPN(in_channels=c, hidden=h, beta=float(p["beta"]), alpha=float(p["alpha"]),
                size=args.size)
    model.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()})
    bad = model.convexity_violations()
    if bad:
        # the reference clamps after every step, so a saved checkpoint should be valid;
        # tiny negatives are clamped, larger ones are refused
        worst = min(bad.values())
        if worst < -1e-6:
            fail("constrained weights are negative (psi would not be convex): "
                 + ", ".join(f"{k} min {v:.3g}" for k, v in bad.items()))
        model.clamp_weights()
    model.save_lpnd(args.output, noise_level=args.noise_level, name=args.name,
                    description=args.description)
    n_params = sum(v.numel() for v in sd.values())
    print(f"wrote {args.output}: lpn_128 C={c} hidden={h} beta={p['beta']} alpha={p['alpha']} "
          f"size={args.size} noise={args.noise_level} ({n_params} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
