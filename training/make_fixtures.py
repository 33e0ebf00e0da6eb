#!/usr/bin/env python3
"""Golden fixtures for the Swift LPN engine tests (Tests/LPNTests/Fixtures/).

    python3 training/make_fixtures.py [--out Tests/LPNTests/Fixtures]

Small LPNs with random weights (the constrained ones non-negative) are calibrated layer by
layer so that pre-activations are moderate: per channel they straddle the softplus
threshold beta*t = 20, so both the curved branch and the linear branch are exercised.
Goldens (psi, f = grad psi) are computed in float64 from the float32 weights as stored and
the float32 inputs as stored, then cast to float32.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

from lpn_torch import LPN, load_lpnd
from shared import ROOT

torch.set_num_threads(1)

B = 3


# ---------------------------------------------------------------------------- inputs
def smooth_field(rng: np.random.Generator, c: int, n: int, cutoff: float) -> np.ndarray:
    """Random low-pass field, rescaled to [0, 1]."""
    f = rng.standard_normal((c, n, n))
    k = np.fft.fftfreq(n)
    r = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    f = np.real(np.fft.ifft2(np.fft.fft2(f) * np.exp(-(r / cutoff) ** 2)))
    f -= f.min()
    return f / max(f.max(), 1e-12)


def make_inputs(rng: np.random.Generator, b: int, c: int, n: int) -> np.ndarray:
    """b images in [0,1]: i.i.d. uniform, smooth field, and smooth + texture + a disk."""
    out = []
    for i in range(b):
        kind = i % 3
        if kind == 0:
            img = rng.uniform(0.0, 1.0, (c, n, n))
        elif kind == 1:
            img = smooth_field(rng, c, n, 0.08)
        else:
            yy, xx = np.mgrid[0:n, 0:n] / n
            disk = ((xx - 0.55) ** 2 + (yy - 0.45) ** 2 < 0.08).astype(float)
            img = 0.5 * smooth_field(rng, c, n, 0.15) + 0.3 * disk[None] \
                + 0.2 * rng.uniform(0, 1, (c, n, n))
            img = np.clip(img, 0.0, 1.0)
        out.append(img)
    return np.stack(out).astype(np.float32)


# ---------------------------------------------------------------------------- weights
@torch.no_grad()
def calibrate(model: LPN, x: torch.Tensor, gen: torch.Generator) -> dict:
    """Random weights, then per-layer positive rescaling + bias so pre-activations are moderate.

    Returns per-layer fraction of pre-activations on the linear branch (beta*t > 20)."""
    beta = model.beta
    target_std = 12.0 / beta      # typical |beta*t| ~ 12
    lin, res = model.lin, model.res

    def randn(t):
        return torch.randn(t.shape, generator=gen, dtype=t.dtype)

    def rand(t):
        return torch.rand(t.shape, generator=gen, dtype=t.dtype)

    lin[0].weight.copy_(randn(lin[0].weight))
    lin[0].bias.zero_()
    for k in range(1, 7):
        lin[k].weight.copy_(rand(lin[k].weight))          # non-negative
    for r in res:
        r.weight.copy_(randn(r.weight))
        r.bias.zero_()

    n = x.shape[-1]
    xs = {1: x, 2: LPN._down(x, n // 2), 4: LPN._down(x, n // 4), 8: LPN._down(x, n // 8)}
    res_in = [xs[1], xs[2], xs[2], xs[4], xs[4], xs[8]]
    sat = {}

    def per_channel(pre):  # pre [B,Ch,H,W] -> stats over B,H,W per channel
        return pre.transpose(0, 1).flatten(1)

    # layer 0
    pre = lin[0](x)
    v = per_channel(pre)
    s = target_std / v.std(1).clamp_min(1e-12)
    lin[0].weight.mul_(s.view(-1, 1, 1, 1))
    mean = per_channel(lin[0](x)).mean(1)
    lin[0].bias.copy_(-mean + (2.0 + 4.0 * randn(mean)) / beta)
    pre = lin[0](x)
    sat["z1"] = float((beta * pre > 20).double().mean())
    z = model.act(pre)

    for k in range(1, 7):
        L, R = lin[k], res[k - 1]
        R.bias.zero_()
        pre = L(z) + R(res_in[k - 1])
        v = per_channel(pre)
        if k < 6:
            s = target_std / v.std(1).clamp_min(1e-12)
        else:
            # 1x1 output: the per-channel spread over a few samples is tiny; use the overall
            # spread of the un-biased pre-activation instead and spread channels by bias
            s = torch.full_like(v[:, 0], target_std / float(v.std().clamp_min(1e-12)))
        L.weight.mul_(s.view(-1, 1, 1, 1))
        R.weight.mul_(s.view(-1, 1, 1, 1))
        mean = per_channel(L(z) + R(res_in[k - 1])).mean(1)
        spread = 4.0 if k < 6 else 10.0
        R.bias.copy_(-mean + (2.0 + spread * randn(mean)) / beta)
        pre = L(z) + R(res_in[k - 1])
        sat[f"z{k + 1}"] = float((beta * pre > 20).double().mean())
        z = model.act(pre)

    lin[7].weight.copy_(rand(lin[7].weight))
    lin[7].bias.copy_(randn(lin[7].bias))
    # scale the non-negative output weights so that the network part of f has about half
    # the rms of x (f should look like a prox: same order as its input)
    with torch.enable_grad():
        g = model(x, create_graph=False) - 2 * model.alpha * x
    scale = 0.5 * float(x.pow(2).mean().sqrt()) / max(float(g.pow(2).mean().sqrt()), 1e-30)
    lin[7].weight.mul_(scale)
    return sat


def goldens(model32_path: str, x: np.ndarray):
    """psi and f in float64 from the stored float32 model and inputs."""
    m = load_lpnd(model32_path).double()
    xt = torch.from_numpy(x.astype(np.float64))
    f = m(xt, create_graph=False).detach()
    with torch.no_grad():
        psi = m.scalar(xt)
    # learned regularizer at the prox output (docs/MATH.md section 1):
    # phi(f(x)) = <x, f(x)> - 1/2 ||f(x)||^2 - psi(x)
    phi = (xt * f).flatten(1).sum(1) - 0.5 * f.pow(2).flatten(1).sum(1) - psi
    return (psi.numpy().astype(np.float32), f.numpy().astype(np.float32),
            phi.numpy().astype(np.float32), m)


def patchwise_f(m: LPN, img: torch.Tensor, patch: int, stride: int) -> torch.Tensor:
    """f applied to overlapping patches; each pixel = mean of the f values covering it."""
    _, c, hgt, wid = img.shape
    ys = list(range(0, hgt - patch + 1, stride))
    xs = list(range(0, wid - patch + 1, stride))
    if ys[-1] != hgt - patch:
        ys.append(hgt - patch)
    if xs[-1] != wid - patch:
        xs.append(wid - patch)
    acc = torch.zeros_like(img)
    cnt = torch.zeros_like(img)
    for y0 in ys:
        for x0 in xs:
            p = img[:, :, y0:y0 + patch, x0:x0 + patch]
            acc[:, :, y0:y0 + patch, x0:x0 + patch] += m(p, create_graph=False).detach()
            cnt[:, :, y0:y0 + patch, x0:x0 + patch] += 1
    return acc / cnt


# ---------------------------------------------------------------------------- cases
CASES = [
    # name, N, C, hidden, beta, alpha, seed
    ("n32_c1", 32, 1, 8, 10.0, 0.01, 101),
    ("n32_c3", 32, 3, 8, 100.0, 1e-6, 102),
    ("n128_c1", 128, 1, 16, 100.0, 1e-6, 103),
    ("ref128", 128, 1, 8, 100.0, 1e-6, 104),
]


def build_case(out: str, name: str, n: int, c: int, h: int, beta: float, alpha: float,
               seed: int, summary: dict) -> None:
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    x = make_inputs(rng, B, c, n)
    calib = np.concatenate([x, make_inputs(rng, 6, c, n)])
    model = LPN(c, h, beta, alpha, n).double()
    sat = calibrate(model, torch.from_numpy(calib.astype(np.float64)), gen)
    assert not model.convexity_violations()
    path = os.path.join(out, f"{name}.safetensors")
    if name == "ref128":
        # reference-format checkpoint, converted by convert_checkpoint.py (tests that path)
        ck_dir = os.path.join(out, "ref128_checkpoint")
        os.makedirs(ck_dir, exist_ok=True)
        sd = {k: v.to(torch.float32) for k, v in model.state_dict().items()}
        tmp = tempfile.mkdtemp()
        torch.save({"model_state_dict": sd, "epoch": 0}, os.path.join(tmp, "model.pt"))
        with open(os.path.join(tmp, "model_config.json"), "w") as fh:
            json.dump({"model": "lpn_128",
                       "params": {"in_dim": c, "hidden": h, "beta": beta, "alpha": alpha}},
                      fh, indent=2)
        subprocess.run([sys.executable, os.path.join(ROOT, "training", "convert_checkpoint.py"),
                        "--checkpoint", tmp, "--size", str(n), "--noise-level", "0.1",
                        "--output", path, "--name", name,
                        "--description", "random test LPN converted from a reference checkpoint"],
                       check=True)
        if os.path.getsize(os.path.join(tmp, "model.pt")) <= 1 << 20:
            for fn in ("model.pt", "model_config.json"):
                shutil.copy(os.path.join(tmp, fn), os.path.join(ck_dir, fn))
        else:
            shutil.rmtree(ck_dir)
        shutil.rmtree(tmp)
    else:
        model.float().save_lpnd(path, noise_level=0.1, name=name,
                                description="random test LPN (lpnd fixture)")
    psi, f, phi, m64 = goldens(path, x)
    np.save(os.path.join(out, f"{name}_x.npy"), x)
    np.save(os.path.join(out, f"{name}_psi.npy"), psi)
    np.save(os.path.join(out, f"{name}_f.npy"), f)
    np.save(os.path.join(out, f"{name}_phi_at_f.npy"), phi)
    info = {"N": n, "C": c, "hidden": h, "beta": beta, "alpha": alpha, "seed": seed,
            "linear_branch_fraction": {k: round(v, 3) for k, v in sat.items()},
            "psi": [float(p) for p in psi],
            "f_rms": float(np.sqrt((f.astype(np.float64) ** 2).mean())),
            "x_rms": float(np.sqrt((x.astype(np.float64) ** 2).mean()))}
    if name == "n32_c1":
        x96 = make_inputs(np.random.default_rng(seed + 1000), 3, 1, 96)[2:3]
        f96 = patchwise_f(m64, torch.from_numpy(x96.astype(np.float64)), 32, 16)
        np.save(os.path.join(out, "n32_c1_x96.npy"), x96)
        np.save(os.path.join(out, "n32_c1_f96_s16.npy"), f96.numpy().astype(np.float32))
    summary[name] = info
    print(name, json.dumps(info))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "LPNTests", "Fixtures"))
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    summary: dict = {}
    for case in CASES:
        build_case(out, *case, summary=summary)
    with open(os.path.join(out, "fixtures_summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
