#!/usr/bin/env python3
"""Train an LPN denoiser with proximal matching (docs/MODELS.md, "Training").

    python3 training/train.py --data phantom --name phantom            # train / resume
    python3 training/train.py --data natural --name natural --resume

Schedule: L1 loss for --steps-l1 steps at --lr-l1, then the proximal matching loss
1 - exp(-||f(y) - x||^2 / gamma^2) for --steps-pm steps at --lr-pm in four equal stages with
gamma = gamma0 * 2^(3 - stage), gamma0 = 0.08 * sqrt(C*H*W). Adam; the constrained weights are
clamped to >= 0 after every step. y = x + s*n, n ~ N(0, I), not clipped.

Every step's batch and noise come from generators seeded by (seed, step), so a resumed run
sees exactly the data an uninterrupted one would, and so does a run whose batches are made
ahead by --workers processes. --device cuda trains on a GPU (the batches are made on the CPU
as always, then moved); --max-minutes stops a run at a checkpoint before a wall-clock limit
(exit status 3, resumable), for a machine lent for a fixed time.

Outputs under --out-dir (default models/):
  <name>/train_log.csv     one row per step
  <name>/checkpoint.pt     every --ckpt-every steps (model, optimizer, step)
  <name>/train_config.json the arguments
  <name>.safetensors       lpnd model file, written at the end
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch

from data import Source, describe
from lpn_torch import LPN
from shared import MODELS, ROOT


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", choices=["phantom", "phantom-edges", "natural", "mri", "mri-lowres"], required=True)
    ap.add_argument("--hard-fraction", type=float, default=0.5,
                    help="--data phantom-edges: the share of hard-edged phantoms in the training batches")
    ap.add_argument("--name", help="model name (default: --data)")
    ap.add_argument("--out-dir", default=MODELS)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--beta", type=float, default=100.0)
    ap.add_argument("--alpha", type=float, default=1e-6)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--noise", type=float, default=0.1, help="training noise level s")
    ap.add_argument("--steps-l1", type=int, default=3000)
    ap.add_argument("--steps-pm", type=int, default=3000, help="total over the 4 stages")
    ap.add_argument("--lr-l1", type=float, default=1e-3)
    ap.add_argument("--lr-pm", type=float, default=1e-4)
    ap.add_argument("--gamma0-factor", type=float, default=0.08)
    ap.add_argument("--ckpt-every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    ap.add_argument("--workers", type=int, default=0,
                    help="processes making the batches ahead (0: in the training process)")
    ap.add_argument("--max-minutes", type=float, default=0,
                    help="stop at a checkpoint once this much wall-clock time has passed (0: no limit)")
    ap.add_argument("--resume", action="store_true", help="continue from <name>/checkpoint.pt")
    ap.add_argument("--frame", type=int, default=0,
                    help="train the whole-frame potential on FRAME x FRAME crops (0: the model on N x N)")
    ap.add_argument("--padding", default="reflect", choices=["reflect", "circular", "zero"],
                    help="whole-frame padding (with --frame)")
    ap.add_argument("--init", help="start from this lpnd model file's weights (fine-tuning)")
    ap.add_argument("--init-strength", type=float, default=1.0,
                    help="with --init: start from theta*f + (1 - theta)*x, an exact relaxation of the "
                         "initial model (for a lower training noise: theta about (noise/init noise)^2)")
    ap.add_argument("--learn-alpha", action="store_true",
                    help="train alpha (the identity part of f) along with the weights")
    ap.add_argument("--benchmark", type=int, default=0,
                    help="only time this many steps (nothing written)")
    a = ap.parse_args(argv)
    if a.hard_fraction != 0.5 and a.data != "phantom-edges":
        ap.error(f"--hard-fraction applies to --data phantom-edges, not {a.data}")
    a.name = a.name or a.data
    return a


def init_weights(model: LPN, gen: torch.Generator) -> None:
    """PyTorch default init for the free weights; the constrained (non-negative) ones are
    drawn uniform in [0, 1/fan_in], so each z-path layer roughly averages its input instead
    of amplifying it layer after layer."""
    with torch.no_grad():
        for k in range(1, 8):
            w = model.lin[k].weight
            fan_in = w[0].numel()
            w.copy_(torch.rand(w.shape, generator=gen) / fan_in)


def schedule(step: int, a) -> tuple:
    """-> (phase, stage, lr, gamma) for a 0-based step."""
    if step < a.steps_l1:
        return "l1", -1, a.lr_l1, float("nan")
    k = step - a.steps_l1
    stage = min(3, (4 * k) // max(a.steps_pm, 1))
    side = a.frame or a.size
    gamma0 = a.gamma0_factor * math.sqrt(1 * side * side)
    return "pm", stage, a.lr_pm, gamma0 * 2.0 ** (3 - stage)


def batch_for_step(src: Source, a, step: int):
    rng = np.random.default_rng([a.seed, step])
    x = torch.from_numpy(src.batch(rng, a.batch))
    g = torch.Generator().manual_seed(a.seed * 1_000_003 + step)
    y = x + a.noise * torch.randn(x.shape, generator=g)
    return x, y


# --workers: each worker process holds its own Source and makes whole steps' batches; the
# batch of a step depends on (seed, step) alone, so the order of the steps is all that matters.
_worker = {}


def _start_worker(a) -> None:
    torch.set_num_threads(1)
    _worker["src"], _worker["args"] = Source(a.data, a.frame or a.size, hard_fraction=a.hard_fraction), a


def _worker_batch(step: int):
    return batch_for_step(_worker["src"], _worker["args"], step)


def batches(src: Source, a, steps: range):
    """(x, y) of every step in `steps`, in order: made here, or ahead by a.workers processes."""
    if a.workers <= 0:
        for step in steps:
            yield batch_for_step(src, a, step)
        return
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(a.workers, _start_worker, (a,)) as pool:
        yield from pool.imap(_worker_batch, steps, chunksize=4)


def psnr(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean over a [B, C, H, W] batch of each image's PSNR at peak 1 (shared.psnr's, on tensors)."""
    mse = (x - ref).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return float((10 * torch.log10(1.0 / mse)).mean())


def portable_args(a) -> dict:
    """The arguments with their paths relative to the repository, so that no committed file
    (checkpoint, config) names a machine path."""
    return {k: (os.path.relpath(os.path.abspath(v), ROOT) if k in ("out_dir", "init") and v else v)
            for k, v in vars(a).items()}


def save_checkpoint(path: str, model, opt, step: int, a) -> None:
    tmp = path + ".tmp"
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
                "step": step, "args": portable_args(a)}, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    out_dir = os.path.abspath(a.out_dir)
    run_dir = os.path.join(out_dir, a.name)
    ckpt_path = os.path.join(run_dir, "checkpoint.pt")
    log_path = os.path.join(run_dir, "train_log.csv")

    src = Source(a.data, a.frame or a.size, hard_fraction=a.hard_fraction)
    model = LPN(1, a.hidden, a.beta, a.alpha, a.size)
    init_weights(model, torch.Generator().manual_seed(a.seed))
    if a.frame:
        model.frame_padding = a.padding
    if a.init:
        from lpn_torch import load_lpnd
        init = load_lpnd(a.init)
        model.load_state_dict(init.state_dict())
        model.alpha = init.alpha
        if a.init_strength != 1.0:
            model.relax(a.init_strength)
    if a.learn_alpha:
        model.learn_alpha()
    device = torch.device(a.device)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr_l1)
    total = a.steps_l1 + a.steps_pm
    start = 0

    if a.benchmark:
        model.train()
        times = []
        for step in range(a.benchmark):
            t0 = time.perf_counter()
            x, y = (t.to(device) for t in batch_for_step(src, a, step))
            loss = (model(y) - x).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            model.clamp_weights()
            times.append(time.perf_counter() - t0)
        print(f"benchmark: {a.benchmark} steps, median {np.median(times):.3f} s/step "
              f"(data {a.data}, N={a.size}, hidden={a.hidden}, batch={a.batch}, "
              f"threads={a.threads})")
        return 0

    os.makedirs(run_dir, exist_ok=True)
    if a.resume and os.path.isfile(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model_state_dict"])
        opt.load_state_dict(ck["optimizer_state_dict"])
        start = int(ck["step"])
        print(f"resumed {a.name} at step {start}", flush=True)
        # drop log rows past the checkpoint so the log has one row per step
        if os.path.isfile(log_path):
            with open(log_path) as fh:
                rows = list(csv.reader(fh))
            with open(log_path, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(rows[0])
                w.writerows(r for r in rows[1:] if int(r[0]) < start)
    else:
        with open(log_path, "w", newline="") as fh:
            csv.writer(fh).writerow(["step", "phase", "stage", "lr", "gamma", "loss",
                                     "l1", "psnr_noisy", "psnr_out", "seconds"])
    with open(os.path.join(run_dir, "train_config.json"), "w") as fh:
        json.dump({"args": portable_args(a), "data": describe()}, fh, indent=1)

    # fixed validation batch from the training distribution (seed far from the step seeds)
    vx, vy = (t.to(device) for t in batch_for_step(src, argparse.Namespace(**{**vars(a), "seed": a.seed + 7777}), 0))
    model.train()
    logf = open(log_path, "a", newline="")
    logw = csv.writer(logf)
    t_start = time.time()
    stopped = False
    steps = range(start, total)
    made = batches(src, a, steps)
    t0 = time.perf_counter()
    for step, (x, y) in zip(steps, made):
        phase, stage, lr, gamma = schedule(step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = x.to(device), y.to(device)
        out = model(y)
        err = out - x
        l1 = err.abs().mean()
        if phase == "l1":
            loss = l1
        else:
            sq = err.pow(2).flatten(1).sum(1)
            loss = (1.0 - torch.exp(-sq / gamma ** 2)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.clamp_weights()
        dt = time.perf_counter() - t0  # the step and the wait for its batch
        with torch.no_grad():
            logw.writerow([step, phase, stage, f"{lr:.3g}", f"{gamma:.4g}",
                           f"{float(loss):.6g}", f"{float(l1):.6g}",
                           f"{psnr(y, x):.3f}", f"{psnr(out.detach(), x):.3f}", f"{dt:.3f}"])
        done = step + 1
        if done % a.ckpt_every == 0 or done == total:
            logf.flush()
            save_checkpoint(ckpt_path, model, opt, done, a)
            model.eval()
            vo = model(vy).detach()
            model.train()
            el = time.time() - t_start
            print(f"[{a.name}] step {done}/{total} {phase} stage {stage} loss {float(loss.detach()):.4g} "
                  f"val psnr {psnr(vy, vx):.2f} -> {psnr(vo, vx):.2f} dB, "
                  f"{el / (done - start):.3f} s/step", flush=True)
            if a.max_minutes and el > 60 * a.max_minutes and done < total:
                stopped = True
                break
        t0 = time.perf_counter()
    made.close()
    logf.close()
    if stopped:
        print(f"[{a.name}] stopped at step {done}/{total}: --max-minutes {a.max_minutes:g} reached; "
              f"{os.path.relpath(ckpt_path, ROOT)} resumes it (--resume)", flush=True)
        return 3

    assert not model.convexity_violations()
    path = os.path.join(out_dir, f"{a.name}.safetensors")
    desc = (f"LPN denoiser trained by lpnd training/train.py on {a.data} images, "
            f"{a.size}x{a.size}, noise {a.noise}, {a.steps_l1} L1 + {a.steps_pm} "
            f"proximal-matching steps, batch {a.batch}"
            + (f", whole-frame on {a.frame}x{a.frame} crops ({a.padding} padding)" if a.frame else "")
            + (f", from {os.path.basename(a.init)}" if a.init else ""))
    model.save_lpnd(path, noise_level=a.noise, name=a.name, description=desc)
    print(f"wrote {os.path.relpath(path, ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
