#!/usr/bin/env python3
"""Multi-coil MRI against BART on identical k-space: the "Multi-coil MRI" table of docs/RESULTS.md.

For each row (pipelines/mri-mc-4x.yaml, mri-mc-8x.yaml: 128×128, 8 simulated coils, noise 0.01
per coil, correlated 0.2 between neighbours, a smooth object phase of up to 1 rad) and each image,
`lpnd simulate` writes the k-space straight to BART's .cfl/.hdr (the pipelines declare centred
k-space, BART's layout), and every method reads that same file:

  - zero-filled: root-sum-of-squares of the coils' inverse FFTs (numpy);
  - BART: `bart ecalib -m 1 -c <crop> -r <centre rows>` maps, then `bart pics -w 1 -R W:3:0:λ`
    (ℓ1-wavelet, 100 iterations), magnitude;
  - lpnd TV-ADMM and LPN-ADMM (`lpnd reconstruct` on the .cfl), maps estimated per frame.

Images: real brain slices from dipy's wheel (held out; another source than the MRI models'
MNI152 training volume); BART's (crop, λ), TV's λ and the LPN's (model, ρ) are chosen on MNI152
training slices only. PSNR/SSIM against the magnitude ground truth, all clipped to [0, 1] and
computed here by one function; seconds per frame are each tool's wall time (BART: ecalib + pics).

    python3 benchmarks/multicoil.py [--lpnd .build/release/lpnd] [--bart bart]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import data as datasets  # noqa: E402
from bart import read_cfl  # noqa: E402  (benchmarks/bart.py)

ROWS = [("mri-mc-4x", "Multi-coil MRI 128×128, 8 coils, 4× (8 % centre)", 10),
        ("mri-mc-8x", "Multi-coil MRI 128×128, 8 coils, 8× (6 % centre)", 8)]
MODELS = ["mri-s05", "mri-s02", "phantom", "mri-s05-long", "mri-lowres"]
RHO = [0.02, 0.05, 0.1, 0.2, 0.5]
TV = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
# BART: (ecalib crop threshold -c, pics λ); the default crop (0.8) cut most of the brain out of
# the maps on these slices, so the threshold is tuned too.
BART_SETTINGS = [(c, l) for c in (0.0, 0.3, 0.8) for l in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)]


def metrics(x, ref):
    from skimage.metrics import structural_similarity
    x = np.clip(x, 0, 1)
    mse = float(np.mean((x - ref) ** 2))
    return 10 * np.log10(1 / max(mse, 1e-12)), float(structural_similarity(x, ref, data_range=1.0))


class Runner:
    def __init__(self, lpnd, bart, work):
        self.lpnd, self.bart, self.work = lpnd, bart, work

    def pipeline(self, row, tag, prior):
        """The row's shipped pipeline with another prior (written next to the models' paths)."""
        with open(os.path.join(ROOT, "pipelines", row + ".yaml")) as f:
            text = f.read()
        text = re.sub(r"name: .*", f"name: {row}-{tag}", text, count=1)
        text = re.sub(r"prior:\n(  .*\n)+", "prior:\n" + "".join(f"  {k}: {v}\n" for k, v in prior.items()), text)
        text = text.replace("../models/", os.path.join(ROOT, "models") + "/")
        path = os.path.join(self.work, f"{row}-{tag}.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def lpnd_run(self, *args):
        r = subprocess.run([self.lpnd, *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"lpnd {' '.join(args)}: {r.stderr.strip()}")

    def simulate(self, row, x, name):
        ref = os.path.join(self.work, name + "-x.npy")
        k = os.path.join(self.work, name + "-k")
        np.save(ref, x.astype(np.float32))
        self.lpnd_run("simulate", "--pipeline", os.path.join(ROOT, "pipelines", row + ".yaml"), "--input", ref,
                      "--output", k + ".cfl")
        return ref, k

    def lpnd_reconstruct(self, pipeline, k, ref, name):
        out, diag = (os.path.join(self.work, name + s) for s in ("-r.npy", "-d.json"))
        t = time.perf_counter()
        self.lpnd_run("reconstruct", "--pipeline", pipeline, "--input", k + ".cfl", "--output", out,
                      "--reference", ref, "--diagnostics", diag)
        seconds = time.perf_counter() - t
        with open(diag) as f:
            d = json.load(f)
        return np.load(out), seconds, d.get("flags", [])

    def bart_pics(self, k, calib, setting, name):
        crop, lam = setting
        maps, out = f"{k}-maps-c{crop}", os.path.join(self.work, name + "-pics")
        t = time.perf_counter()
        subprocess.run([self.bart, "ecalib", "-m", "1", "-c", str(crop), "-r", str(calib), k, maps], check=True, capture_output=True)
        subprocess.run([self.bart, "pics", "-w", "1", "-i", "100", "-R", f"W:3:0:{lam}", k, maps, out],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - t
        return np.abs(read_cfl(out)).T.astype(np.float32), seconds


def zero_filled(k):
    y = read_cfl(k, ndim=4)  # (X, Y, 1, C), centred
    y = np.transpose(y[:, :, 0, :], (2, 1, 0))  # [C, H, W]
    img = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(y, axes=(-2, -1)), axes=(-2, -1), norm="ortho"), axes=(-2, -1))
    return np.sqrt((np.abs(img) ** 2).sum(0)).astype(np.float32)


def phase_study(run, held, lam_tv=0.05):
    """TV-ADMM at 4× on the held-out slices with the object phase 0, 1, 2 and 3 rad: what the
    phase-referenced maps keep; against it, the PSNR of Re(x·e^{iθ}), the image a real-part
    reconstruction would at best return."""
    rows = []
    for peak in (0.0, 1.0, 2.0, 3.0):
        with open(os.path.join(ROOT, "pipelines", "mri-mc-4x.yaml")) as f:
            text = f.read()
        text = re.sub(r"prior:\n(  .*\n)+", f"prior:\n  type: tv\n  lambda: {lam_tv}\n", text)
        text = re.sub(r"  phase: .*", f"  phase: {peak}", text)
        path = os.path.join(run.work, f"phase-{peak}.yaml")
        with open(path, "w") as f:
            f.write(text)
        psnr, bound = [], []
        for i, x in enumerate(held):
            ref = os.path.join(run.work, f"phase-{peak}-{i}-x.npy")
            k = os.path.join(run.work, f"phase-{peak}-{i}-k")
            np.save(ref, x.astype(np.float32))
            run.lpnd_run("simulate", "--pipeline", path, "--input", ref, "--output", k + ".cfl", "--seed", str(i))
            psnr.append(metrics(run.lpnd_reconstruct(path, k, ref, f"phase-{peak}-{i}")[0], x)[0])
            h, w = x.shape
            u, v = np.meshgrid(2 * (np.arange(w) + 0.5) / w - 1, 2 * (np.arange(h) + 0.5) / h - 1)
            theta = peak * (u + u * u + v * v - 1) / 2  # the simulation's form, angle 0
            bound.append(metrics(x * np.cos(theta), x)[0])
        rows.append({"phase": peak, "tv_psnr": float(np.mean(psnr)), "real_part_psnr": float(np.mean(bound))})
        print(f"   phase {peak:.1f} rad: TV-ADMM {np.mean(psnr):6.2f} dB; Re(x·e^(iθ)) against x {np.mean(bound):6.2f} dB", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lpnd", default=os.path.join(ROOT, ".build/release/lpnd"))
    ap.add_argument("--bart", default="bart")
    ap.add_argument("--train", type=int, default=2, help="MNI152 training slices for tuning")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/figures/multicoil.json"))
    ap.add_argument("--phase-study", action="store_true", help="only the object-phase study (docs/RESULTS.md)")
    args = ap.parse_args()
    if shutil.which(args.bart) is None:
        sys.exit("needs Debian's bart (apt-get install bart)")
    work = tempfile.mkdtemp(prefix="lpnd-multicoil-")
    run = Runner(args.lpnd, args.bart, work)
    held = datasets.Source("mri", 128, augment=False).heldout(4)[:, 0]
    train = datasets.Source("mri", 128, augment=False).batch(np.random.default_rng(12345), args.train)[:, 0]
    if args.phase_study:
        rows = phase_study(run, held)
        with open(os.path.join(ROOT, "docs/figures/multicoil_phase.json"), "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d"), "rows": rows}, f, indent=1)
        return
    results = {"date": time.strftime("%Y-%m-%d"), "rows": []}
    for row, label, calib in ROWS:
        print(f"== {row}", flush=True)
        tune = [run.simulate(row, x, f"{row}-t{i}") for i, x in enumerate(train)]
        test = [run.simulate(row, x, f"{row}-h{i}") for i, x in enumerate(held)]
        refs = {k: np.load(r) for r, k in tune + test}

        def mean_psnr(fn, cases):
            return float(np.mean([metrics(fn(r, k), refs[k])[0] for r, k in cases]))

        # Tuning on training slices only.
        lam_bart = max(BART_SETTINGS, key=lambda l: mean_psnr(lambda r, k: run.bart_pics(k, calib, l, os.path.basename(k) + "-b")[0], tune))
        tv_paths = {l: run.pipeline(row, f"tv{l}", {"type": "tv", "lambda": l}) for l in TV}
        lam_tv = max(TV, key=lambda l: mean_psnr(lambda r, k: run.lpnd_reconstruct(tv_paths[l], k, r, os.path.basename(k) + f"-tv{l}")[0], tune))
        lpn_paths = {}
        for m in MODELS:
            for rho in RHO:
                p = run.pipeline(row, f"{m}-{rho}", {"type": "lpn", "model": f"../models/{m}.safetensors"})
                with open(p) as f:
                    text = f.read().replace("../models/", os.path.join(ROOT, "models") + "/")
                with open(p, "w") as f:
                    f.write(re.sub(r"  rho: .*", f"  rho: {rho}", text))
                lpn_paths[(m, rho)] = p
        best = max(lpn_paths, key=lambda key: mean_psnr(lambda r, k: run.lpnd_reconstruct(lpn_paths[key], k, r, os.path.basename(k) + f"-{key[0]}-{key[1]}")[0], tune))
        print(f"   tuned: BART (crop, λ) {lam_bart}, TV λ {lam_tv}, LPN {best}", flush=True)

        methods = {
            "zero-filled SoS": lambda r, k: (zero_filled(k), 0.0, []),
            "BART pics ℓ1-wavelet": lambda r, k: (*run.bart_pics(k, calib, lam_bart, os.path.basename(k) + "-final"), []),
            "lpnd TV-ADMM": lambda r, k: run.lpnd_reconstruct(tv_paths[lam_tv], k, r, os.path.basename(k) + "-tv-final"),
            "lpnd LPN-ADMM (tuned)": lambda r, k: run.lpnd_reconstruct(lpn_paths[best], k, r, os.path.basename(k) + "-lpn-final"),
            "lpnd LPN-ADMM (shipped pipeline)": lambda r, k: run.lpnd_reconstruct(os.path.join(ROOT, "pipelines", row + ".yaml"), k, r, os.path.basename(k) + "-shipped"),
        }
        entry = {"row": row, "label": label, "images": len(test), "bart_crop": lam_bart[0], "bart_lambda": lam_bart[1], "tv_lambda": lam_tv,
                 "lpn_model": best[0], "lpn_rho": best[1], "methods": {}}
        for name, fn in methods.items():
            scores, seconds, flagged = [], [], 0
            for r, k in test:
                x, s, flags = fn(r, k)
                scores.append(metrics(x, refs[k]))
                seconds.append(s)
                flagged += bool(flags)
            entry["methods"][name] = {"psnr": float(np.mean([p for p, _ in scores])), "ssim": float(np.mean([q for _, q in scores])),
                                      "seconds": float(np.mean(seconds)), "flagged": flagged}
            print(f"   {name:34s} {entry['methods'][name]['psnr']:6.2f} dB  {entry['methods'][name]['ssim']:.3f}  {np.mean(seconds):6.2f} s", flush=True)
        results["rows"].append(entry)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print("wrote", args.out)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
