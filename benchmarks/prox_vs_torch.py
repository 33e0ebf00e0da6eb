#!/usr/bin/env python3
"""lpnd's prox against PyTorch eager CPU on the same weights, measured in the same run.

For each hidden width: build a random valid LPN (PyTorch default init, constrained weights
clamped to >= 0), save it in lpnd's format, time f(x) = grad psi(x) in PyTorch (autograd,
one thread, batch 1) and run `lpnd bench prox` on the same file (one thread). Prints a
Markdown table of medians and ratios. Usage: python3 benchmarks/prox_vs_torch.py --lpnd PATH
"""
import argparse
import os
import tempfile
import time

import torch

from common import LPND, Runner
from lpn_torch import LPN  # training/lpn_torch.py


def torch_ms_per_prox(model, x, repetitions):
    model(x)  # warm-up
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - start)
    times.sort()
    return 1e3 * times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lpnd", default=LPND)
    parser.add_argument("--hidden", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repetitions", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lpnd = Runner(args.lpnd, tmp)
        for hidden in args.hidden:
            model = LPN(in_channels=1, hidden=hidden, beta=100.0, alpha=1e-6, size=args.size)
            model.clamp_weights()
            model.eval()
            for p in model.parameters():
                p.requires_grad_(False)  # only input gradients, like lpnd
            path = os.path.join(tmp, f"h{hidden}.safetensors")
            model.save_lpnd(path, noise_level=0.1, name=f"bench-h{hidden}")
            x = torch.rand(1, 1, args.size, args.size)
            torch_ms = torch_ms_per_prox(model, x, args.repetitions)
            r = lpnd.json("bench", "prox", "--model", path, "--size", str(args.size), "--batch", "1", "--threads", "1",
                          "--repetitions", str(args.repetitions), "--json")
            rows.append((hidden, r["ms_per_prox"], torch_ms, r["gflops"], r["sgemm_gflops"]))
    print("| hidden | lpnd ms/prox | PyTorch ms/prox | speed-up | lpnd GFLOP/s | sgemm GFLOP/s | fraction of sgemm |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for hidden, ms, tms, gf, sg in rows:
        print(f"| {hidden} | {ms:.2f} | {tms:.2f} | {tms / ms:.2f}× | {gf:.1f} | {sg:.1f} | {100 * gf / sg:.0f}% |")


if __name__ == "__main__":
    main()
