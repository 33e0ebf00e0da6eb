"""Training data for lpnd's shipped LPN models; nothing is downloaded.

phantom  MRI/CT-like synthetic images: a body ellipse with a smooth multiplicative intensity
         field, inner ellipses and convex polygons with their own intensity ramps, soft edges of
         random width, and fine band-limited texture. Every image is drawn from a seed, so the
         training stream and the held-out set (seeds >= HELDOUT_SEED_BASE) never overlap.
natural  grayscale patches from the images that scikit-image ships in skimage.data
         (random crop, random scale 1 or 1/2, random flip/rot90). The images in
         NATURAL_HELDOUT are never used for training; held-out patches come only from them.

All images are float32 in [0, 1], shape [N, N].
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

# ---------------------------------------------------------------------------- natural
# skimage.data images used for training (grayscale via luminance). "cat" is the same photo as
# "chelsea", so it is excluded together with it.
NATURAL_TRAIN = [
    "astronaut", "brick", "coffee", "grass", "gravel", "moon", "page", "rocket", "text",
    "clock", "hubble_deep_field", "immunohistochemistry", "retina", "cell",
]
# held out: never used in training; the evaluation patches come from these only
NATURAL_HELDOUT = ["camera", "chelsea", "coins"]

HELDOUT_SEED_BASE = 10_000_000  # phantom seeds at/above this are the held-out set


def _load_skimage(name: str) -> np.ndarray:
    import skimage.data as skd
    from skimage.color import rgb2gray
    img = getattr(skd, name)()
    img = np.asarray(img)
    if img.ndim == 3:
        if img.shape[-1] == 4:
            img = img[..., :3]
        img = rgb2gray(img)
    img = img.astype(np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def _half(img: np.ndarray) -> np.ndarray:
    h, w = (img.shape[0] // 2) * 2, (img.shape[1] // 2) * 2
    im = img[:h, :w]
    return 0.25 * (im[0::2, 0::2] + im[1::2, 0::2] + im[0::2, 1::2] + im[1::2, 1::2])


class NaturalPatches:
    """Random grayscale patches of skimage.data images (two scales)."""

    def __init__(self, names: List[str], size: int):
        self.size = size
        self.images: List[np.ndarray] = []
        self.names: List[str] = []
        for n in names:
            img = _load_skimage(n)
            for scale_img in (img, _half(img)):
                if min(scale_img.shape) >= size:
                    self.images.append(scale_img)
                    self.names.append(n)
        # every (image, scale) equally likely, so one huge image (retina) does not dominate
        self.p = np.full(len(self.images), 1.0 / len(self.images))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        img = self.images[rng.choice(len(self.images), p=self.p)]
        n = self.size
        y = rng.integers(0, img.shape[0] - n + 1)
        x = rng.integers(0, img.shape[1] - n + 1)
        p = img[y:y + n, x:x + n]
        p = np.rot90(p, rng.integers(0, 4))
        if rng.random() < 0.5:
            p = p[:, ::-1]
        return np.ascontiguousarray(p, dtype=np.float32)


# ---------------------------------------------------------------------------- phantom
def _bandlimited(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """Zero-mean unit-std noise with spatial frequencies in [lo, hi] cycles/pixel."""
    k = np.fft.fftfreq(n)
    r = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    mask = ((r >= lo) & (r <= hi)).astype(np.float64)
    f = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) * mask))
    s = f.std()
    return f / s if s > 0 else f


def _soft(d: np.ndarray, width: float) -> np.ndarray:
    """Soft indicator of {d < 0} with edge width `width` pixels (logistic)."""
    return 1.0 / (1.0 + np.exp(np.clip(d / width, -50, 50)))


def _ellipse_dist(xx, yy, cx, cy, a, b, th):
    c, s = np.cos(th), np.sin(th)
    u = (xx - cx) * c + (yy - cy) * s
    v = -(xx - cx) * s + (yy - cy) * c
    r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return (r - 1.0) * min(a, b)          # approx. signed distance in pixels


def _polygon_dist(xx, yy, cx, cy, rad, k, rng):
    """Approx. signed distance to a random convex polygon (max over half-planes)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    radii = rad * rng.uniform(0.7, 1.0, k)
    px, py = cx + radii * np.cos(angles), cy + radii * np.sin(angles)
    d = np.full(xx.shape, -np.inf)
    for i in range(k):
        x0, y0, x1, y1 = px[i], py[i], px[(i + 1) % k], py[(i + 1) % k]
        ex, ey = x1 - x0, y1 - y0
        nx, ny = ey, -ex                   # outward normal for counter-clockwise vertices
        nrm = np.hypot(nx, ny) + 1e-12
        d = np.maximum(d, ((xx - x0) * nx + (yy - y0) * ny) / nrm)
    return d


def phantom(rng: np.random.Generator, n: int) -> np.ndarray:
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64) + 0.5
    img = 0.03 * rng.random() + 0.02 * _bandlimited(rng, n, 0.0, 0.05)   # background
    # body
    cx, cy = n * rng.uniform(0.4, 0.6, 2)
    a, b = n * rng.uniform(0.3, 0.48), n * rng.uniform(0.25, 0.45)
    body = _soft(_ellipse_dist(xx, yy, cx, cy, a, b, rng.uniform(0, np.pi)),
                 rng.uniform(0.4, 1.5))
    field = 1.0 + 0.25 * _bandlimited(rng, n, 0.0, 0.04)                  # smooth bias field
    base = rng.uniform(0.25, 0.55)
    img = img * (1 - body) + body * base * field
    # inner structures
    for _ in range(rng.integers(3, 9)):
        r = n * rng.uniform(0.04, 0.2)
        ox, oy = cx + rng.uniform(-0.6, 0.6) * a, cy + rng.uniform(-0.6, 0.6) * b
        if rng.random() < 0.55:
            d = _ellipse_dist(xx, yy, ox, oy, r, r * rng.uniform(0.4, 1.0),
                              rng.uniform(0, np.pi))
        else:
            d = _polygon_dist(xx, yy, ox, oy, r, int(rng.integers(3, 8)), rng)
        m = _soft(d, rng.uniform(0.3, 1.2)) * body
        level = rng.choice([-1.0, 1.0], p=[0.35, 0.65]) * rng.uniform(0.08, 0.45)
        g = rng.normal(0, 1, 2) * 0.15 / n                                 # intensity ramp
        ramp = level + g[0] * (xx - ox) + g[1] * (yy - oy)
        if rng.random() < 0.5:                                            # replace or add
            img = img * (1 - m) + m * np.clip(base + ramp, 0.02, 1.0)
        else:
            img = img + m * ramp * 0.6
    # fine texture inside the body (band-limited, varying strength)
    tex = _bandlimited(rng, n, 0.15, 0.5) * rng.uniform(0.005, 0.03)
    tex2 = _bandlimited(rng, n, 0.05, 0.15) * rng.uniform(0.0, 0.03)
    img = img + body * (tex + tex2)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------- sources
class Source:
    """Infinite stream of clean images for training, and a fixed held-out set."""

    def __init__(self, kind: str, size: int):
        if kind not in ("phantom", "natural"):
            raise ValueError(f"unknown data kind {kind!r}")
        self.kind, self.size = kind, size
        self._train = NaturalPatches(NATURAL_TRAIN, size) if kind == "natural" else None
        self._held = None

    def batch(self, rng: np.random.Generator, b: int) -> np.ndarray:
        """[b, 1, N, N] float32 training images."""
        if self.kind == "phantom":
            imgs = [phantom(np.random.default_rng(int(rng.integers(0, HELDOUT_SEED_BASE))),
                            self.size) for _ in range(b)]
        else:
            imgs = [self._train.sample(rng) for _ in range(b)]
        return np.stack(imgs)[:, None]

    def heldout(self, count: int, seed: int = 0) -> np.ndarray:
        """[count, 1, N, N] float32 held-out images (fixed for a given seed)."""
        if self.kind == "phantom":
            imgs = [phantom(np.random.default_rng(HELDOUT_SEED_BASE + seed * 100_000 + i),
                            self.size) for i in range(count)]
        else:
            if self._held is None:
                self._held = NaturalPatches(NATURAL_HELDOUT, self.size)
            rng = np.random.default_rng(HELDOUT_SEED_BASE + seed)
            imgs = []
            while len(imgs) < count:
                p = self._held.sample(rng)
                if p.std() > 0.02:        # skip nearly flat patches (sky, background)
                    imgs.append(p)
        return np.stack(imgs)[:, None]


def describe() -> Dict[str, object]:
    return {"natural_train": NATURAL_TRAIN, "natural_heldout": NATURAL_HELDOUT,
            "phantom_heldout_seed_base": HELDOUT_SEED_BASE}
