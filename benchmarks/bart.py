"""BART `pics` on the k-space lpnd simulated: the MRI baseline of docs/RESULTS.md.

lpnd's single-coil MRI measurement (`lpnd simulate`, docs/PIPELINES.md) is the full H×W k-space,
complex64, unshifted and orthonormal: y = M ⊙ fft2(x, norm="ortho"), zero where not sampled.
BART's unitary centred FFT (`bart fft -u 3`) of the same image is fftshift((−1)^(kx+ky) · y), so
that is what BART receives, with a coil sensitivity of ones; its sampling pattern is the
non-zero entries, and its image grid is lpnd's. `pics -w 1` turns off BART's data scaling so
λ acts on the same scale as lpnd's, `-c` constrains the image to be real, as lpnd's is.

    from bart import pics
    x = pics(np.load("y.npy"), "W", 0.005)      # ℓ1-wavelet; "T" for total variation
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from common import run


def write_cfl(base: str, a: np.ndarray) -> None:
    """BART's .hdr/.cfl pair: complex64, first dimension fastest (Fortran order)."""
    a = np.asarray(a, dtype=np.complex64)
    dims = list(a.shape) + [1] * (16 - a.ndim)
    with open(base + ".hdr", "w") as f:
        f.write("# Dimensions\n" + " ".join(map(str, dims)) + "\n")
    a.ravel(order="F").tofile(base + ".cfl")


def read_cfl(base: str, ndim: int = 2) -> np.ndarray:
    with open(base + ".hdr") as f:
        lines = f.read().split("\n")
    dims = [int(v) for v in lines[lines.index("# Dimensions") + 1].split()]
    return np.fromfile(base + ".cfl", dtype=np.complex64).reshape(dims, order="F").reshape(dims[:ndim])


def to_bart_kspace(y: np.ndarray) -> np.ndarray:
    """lpnd's unshifted orthonormal k-space -> BART's centred unitary k-space (even sides)."""
    h, w = y.shape
    sign = np.where((np.add.outer(np.arange(h), np.arange(w)) % 2) == 0, 1.0, -1.0)
    return np.fft.fftshift(y * sign)


def write_inputs(directory: str, y: np.ndarray) -> tuple[str, str]:
    """lpnd's single-coil k-space y as BART's inputs in `directory`: the centred k-space and a
    coil sensitivity of ones -> their base names (k, s)."""
    h, w = y.shape
    k, s = os.path.join(directory, "k"), os.path.join(directory, "s")
    write_cfl(k, to_bart_kspace(y).reshape(h, w, 1, 1))
    write_cfl(s, np.ones((h, w, 1, 1), dtype=np.complex64))
    return k, s


def pics_command(k: str, maps: str, out: str, regularizer: str, lam: float, iterations: int = 100, real: bool = True,
                 bart: str = "bart") -> list:
    """`bart pics -w 1 [-c] -i <iterations> -R <regularizer>:3:0:<lam> k maps out`: BART's data
    scaling off (λ on lpnd's scale), `real`: the image constrained to be real."""
    return [bart, "pics", "-w", "1", *(["-c"] if real else []), "-i", str(iterations), "-R",
            f"{regularizer}:3:0:{lam}", k, maps, out]


def pics(y: np.ndarray, regularizer: str, lam: float, iterations: int = 100, bart: str = "bart") -> np.ndarray:
    """Real image [H, W] from `bart pics -R <regularizer>:3:0:<lam>` on lpnd's k-space y."""
    with tempfile.TemporaryDirectory() as tmp:
        k, s = write_inputs(tmp, y)
        out = os.path.join(tmp, "x")
        run(pics_command(k, s, out, regularizer, lam, iterations, bart=bart))
        return np.real(read_cfl(out)).astype(np.float32)
