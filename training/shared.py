"""What the training scripts and the benchmarks share: where the repository and the release
binary are, PSNR and SSIM as lpnd's diagnostics compute them, running a command, and
rewriting a marked block of a doc.

The scripts in training/ import it directly (`python3 training/<name>.py` puts training/ on
sys.path); benchmarks/common.py puts training/ on sys.path and re-exports it. Needs numpy
(SSIM: scikit-image).
"""
from __future__ import annotations

import os
import subprocess

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository
LPND = os.path.join(ROOT, ".build", "release", "lpnd")  # the release binary (`make build`)
MODELS = os.path.join(ROOT, "models")


def psnr(x, ref) -> float:
    """PSNR (dB) of x against ref at peak 1: 10·log10(1 / mean((x − ref)²)) in float64, as
    lpnd's diagnostics (--reference); x is not clipped here (see `clipped_metrics`)."""
    mse = float(np.mean((np.asarray(x, np.float64) - np.asarray(ref, np.float64)) ** 2))
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


def ssim(x, ref) -> float:
    """SSIM of x against ref, data range 1 (scikit-image's structural_similarity)."""
    from skimage.metrics import structural_similarity
    return float(structural_similarity(np.asarray(x, np.float64), np.asarray(ref, np.float64), data_range=1.0))


def clipped_metrics(x, ref) -> tuple[float, float]:
    """(PSNR, SSIM) of x clipped to [0, 1], as a pipeline with output.clip returns it."""
    x = np.clip(x, 0.0, 1.0)
    return psnr(x, ref), ssim(x, ref)


def run(cmd, env=None) -> str:
    """Runs `cmd` (a list) and returns its stdout; a failure raises RuntimeError with the
    command and its stderr."""
    cmd = [str(c) for c in cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {r.returncode}): {r.stderr.strip()}")
    return r.stdout


def replace_block(path: str, name: str, block: str) -> None:
    """Rewrites the text between `<!-- name:start -->` and `<!-- name:end -->` in the file at
    `path`; a file without the markers gets the marked block appended, a missing file becomes
    just that block."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    doc = open(path).read() if os.path.exists(path) else ""
    marked = f"{start}\n{block}\n{end}"
    if start in doc and end in doc:
        doc = doc[:doc.index(start)] + marked + doc[doc.index(end) + len(end):]
    else:
        doc += ("\n" if doc else "") + marked + "\n"
    with open(path, "w") as f:
        f.write(doc)
