"""Training data for lpnd's shipped LPN models; nothing is downloaded.

phantom  MRI/CT-like synthetic images: a body ellipse with a smooth multiplicative intensity
         field, inner ellipses and convex polygons with their own intensity ramps, soft edges of
         random width, and fine band-limited texture. Every image is drawn from a seed, so the
         training stream and the held-out set (seeds >= HELDOUT_SEED_BASE) never overlap.
natural  grayscale patches from the photos that scikit-image (skimage.data) and scikit-learn
         (load_sample_images) ship in their wheels: random crop at scale 1, 1/2 or 1/4, random
         flip/rot90, and intensity augmentation (contrast, gamma, darkening and brightening
         with clipping, so black and saturated regions occur). The images in NATURAL_HELDOUT
         are never used for training; held-out patches come only from them.
mri      real MR anatomy: slices of the MNI152 (ICBM 2009a) T1 template that nilearn ships in
         its wheel, in all three orientations, zoomed, placed at random in a black frame, with
         intensity augmentation; half of them re-contrasted from the template's grey/white
         matter maps (T2-like and random tissue contrasts). Held out (never trained on, another
         source): the real scans that dipy ships in its wheel, a T1 coronal slice (256 x 256)
         and b0 slices of a diffusion series (128 x 128).

All images are float32 in [0, 1], shape [N, N].
"""
from __future__ import annotations

from functools import partial
from typing import Dict, List

import numpy as np

# ---------------------------------------------------------------------------- natural
# skimage.data images used for training (grayscale via luminance). "cat" is the same photo as
# "chelsea", so it is excluded together with it.
NATURAL_TRAIN = [
    "astronaut", "brick", "coffee", "grass", "gravel", "moon", "page", "rocket", "text",
    "clock", "hubble_deep_field", "immunohistochemistry", "retina", "cell",
    "motorcycle_left", "motorcycle_right", "sklearn:china", "sklearn:flower",
]
# held out: never used in training; the evaluation patches come from these only
NATURAL_HELDOUT = ["camera", "chelsea", "coins"]

HELDOUT_SEED_BASE = 10_000_000  # phantom seeds at/above this are the held-out set


def _load_skimage(name: str) -> np.ndarray:
    """A photo by name: skimage.data.<name>, motorcycle_left/right (skimage's stereo pair) or
    sklearn:<china|flower> (scikit-learn's sample images); grayscale float32 in [0, 1]."""
    import skimage.data as skd
    from skimage.color import rgb2gray
    if name.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image
        img = load_sample_image(name.split(":", 1)[1] + ".jpg")
    elif name.startswith("motorcycle_"):
        left, right, _ = skd.stereo_motorcycle()
        img = left if name.endswith("left") else right
    else:
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
    """Random grayscale patches of photos (scales 1 and 1/2; with augment also 1/4 and the
    intensity augmentation of `augment_intensity`)."""

    def __init__(self, names: List[str], size: int, augment: bool = False):
        self.size = size
        self.augment = augment
        self.images: List[np.ndarray] = []
        self.names: List[str] = []
        for n in names:
            img = _load_skimage(n)
            scales = (img, _half(img), _half(_half(img))) if augment else (img, _half(img))
            for scale_img in scales:
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
        if self.augment:
            p = augment_intensity(rng, p)
        return np.ascontiguousarray(p, dtype=np.float32)


def augment_intensity(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One of: unchanged; gamma 0.5-2; affine a + b*x into a random sub-range; darkening
    (x - c)/(1 - c) clipped at 0, so black regions occur; brightening x/(1 - c) clipped at 1,
    so saturated regions occur."""
    r = rng.random()
    if r < 0.2:
        return p
    if r < 0.4:
        return np.clip(p, 0, 1) ** np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    if r < 0.6:
        lo = rng.uniform(0.0, 0.4)
        return lo + rng.uniform(0.3, 1.0 - lo) * p
    c = rng.uniform(0.05, 0.4)
    if r < 0.8:
        return np.clip((p - c) / (1 - c), 0.0, 1.0)
    return np.clip(p / (1 - c), 0.0, 1.0)


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



def _edge(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indicator of {d < 0} with a pixel-sharp boundary: hard (the pixel centre decides) or
    area-sampled over one pixel (the pixel's covered fraction), at random."""
    if rng.random() < 0.5:
        return (d < 0).astype(np.float64)
    return np.clip(0.5 - d, 0.0, 1.0)


def hard_phantom(rng: np.random.Generator, n: int) -> np.ndarray:
    """A piecewise-constant phantom with pixel-sharp boundaries, as test objects and classical
    phantoms are drawn: a body (ellipse or rounded polygon) of one intensity on a black or dark
    background, holding 3–10 ellipses, convex polygons and tubes (a ring wall around a filled
    core) of constant intensities, some nested; on a quarter of them a weak smooth field."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64) + 0.5
    img = np.full((n, n), rng.choice([0.0, rng.uniform(0.0, 0.08)]))
    cx, cy = n * rng.uniform(0.42, 0.58, 2)
    a, b = n * rng.uniform(0.32, 0.47), n * rng.uniform(0.28, 0.46)
    if rng.random() < 0.75:
        d_body = _ellipse_dist(xx, yy, cx, cy, a, b, rng.uniform(0, np.pi))
    else:
        d_body = _polygon_dist(xx, yy, cx, cy, min(a, b), int(rng.integers(5, 9)), rng)
    body = _edge(d_body, rng)
    if rng.random() < 0.3:                                                # a bright skull-like rim
        rim = _edge(d_body + n * rng.uniform(0.015, 0.04), rng)
        img = img * (1 - body) + body * rng.uniform(0.7, 1.0)
        body = rim
    img = img * (1 - body) + body * rng.uniform(0.15, 0.6)
    for _ in range(rng.integers(3, 11)):
        r = n * rng.uniform(0.03, 0.18)
        ox, oy = cx + rng.uniform(-0.6, 0.6) * a, cy + rng.uniform(-0.6, 0.6) * b
        kind = rng.random()
        level = rng.uniform(0.0, 1.0)
        if kind < 0.4:
            m = _edge(_ellipse_dist(xx, yy, ox, oy, r, r * rng.uniform(0.3, 1.0), rng.uniform(0, np.pi)), rng)
        elif kind < 0.7:
            m = _edge(_polygon_dist(xx, yy, ox, oy, r, int(rng.integers(3, 8)), rng), rng)
        else:                                                             # a tube: wall and core
            d = np.hypot(xx - ox, yy - oy) - r
            wall = rng.uniform(1.0, 3.0)
            outer = _edge(d, rng) * body
            img = img * (1 - outer) + outer * rng.uniform(0.6, 1.0)
            m = _edge(d + wall, rng)
        m = m * body
        img = img * (1 - m) + m * level
    if rng.random() < 0.25:
        img = img * (1.0 + 0.1 * _bandlimited(rng, n, 0.0, 0.03))
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def edges_phantom(rng: np.random.Generator, n: int, hard_fraction: float = 0.5) -> np.ndarray:
    """The `phantom-edges` family: soft phantoms (``phantom``) and, with probability
    `hard_fraction` (half by default), hard-edged ones (``hard_phantom``), chosen by the
    image's own generator."""
    return hard_phantom(rng, n) if rng.random() < hard_fraction else phantom(rng, n)

# ---------------------------------------------------------------------------- mri
def _nilearn_volume(name: str) -> np.ndarray:
    import os
    import nibabel as nib
    import nilearn
    path = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data",
                        f"mni_icbm152_{name}_tal_nlin_sym_09a_converted.nii.gz")
    return np.asarray(nib.load(path).get_fdata(), dtype=np.float32)


class MRISlices:
    """Random 2-D MR frames from the MNI152 template (nilearn's wheel); see the module doc."""

    def __init__(self, size: int, augment: bool = True, low_resolution: float = 0.0):
        t1 = _nilearn_volume("t1")
        t1 = np.clip(t1 / np.percentile(t1[t1 > 0], 99.5), 0.0, 1.0)
        gm = np.clip(_nilearn_volume("gm"), 0.0, 1.0)
        wm = np.clip(_nilearn_volume("wm"), 0.0, 1.0)
        head = (t1 > 0.02).astype(np.float32)
        csf = np.clip(head - gm - wm, 0.0, 1.0)
        self.size, self.augment, self.low_resolution = size, augment, low_resolution
        # per orientation, the four volumes stacked slice-first (contiguous: a slice is a view),
        # only the middle 60 % of slices, where there is brain
        self.stacks = []
        for axis in range(3):
            n = t1.shape[axis]
            keep = slice(int(0.2 * n), int(0.8 * n))
            self.stacks.append(np.ascontiguousarray(
                np.stack([np.moveaxis(v, axis, 0)[keep] for v in (t1, gm, wm, csf)], axis=1)))

    def _slice(self, rng: np.random.Generator):
        stack = self.stacks[int(rng.integers(0, 3))]
        return list(stack[int(rng.integers(0, stack.shape[0]))])

    @staticmethod
    def _contrast(rng: np.random.Generator, t1, gm, wm, csf) -> np.ndarray:
        """Half T1 with a random gamma, a quarter T2-like, a quarter random tissue contrast."""
        r = rng.random()
        if r < 0.5:
            return t1 ** rng.uniform(0.7, 1.4)
        if r < 0.75:                                  # CSF bright, white matter dark
            return csf * rng.uniform(0.7, 1.0) + gm * rng.uniform(0.35, 0.6) + wm * rng.uniform(0.15, 0.4)
        return csf * rng.uniform(0.05, 1.0) + gm * rng.uniform(0.05, 1.0) + wm * rng.uniform(0.05, 1.0)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        from scipy.ndimage import zoom
        t1, gm, wm, csf = self._slice(rng)
        if self.augment:
            img = self._contrast(rng, t1, gm, wm, csf)
            img = img * rng.uniform(0.5, 1.0) / max(float(img.max()), 1e-6)
        else:                                         # the template's own T1 contrast
            img = t1 / max(float(t1.max()), 1e-6)
        img = zoom(img, rng.uniform(0.45, 1.2), order=1)
        n = self.size
        ph, pw = max(0, n - img.shape[0]), max(0, n - img.shape[1])
        img = np.pad(img, ((ph // 2 + 8, ph - ph // 2 + 8), (pw // 2 + 8, pw - pw // 2 + 8)))
        y = rng.integers(0, img.shape[0] - n + 1)
        x = rng.integers(0, img.shape[1] - n + 1)
        p = np.rot90(img[y:y + n, x:x + n], rng.integers(0, 4))
        if rng.random() < 0.5:
            p = p[:, ::-1]
        if rng.random() < self.low_resolution:      # a scan acquired coarser, interpolated up
            f = rng.uniform(1.5, 3.0)
            small = zoom(p, 1.0 / f, order=1)
            p = zoom(small, (n / small.shape[0], n / small.shape[1]), order=3)[:n, :n]
        return np.ascontiguousarray(np.clip(p, 0.0, 1.0), dtype=np.float32)


def _dipy_file(name: str) -> str:
    import os
    import dipy
    return os.path.join(os.path.dirname(dipy.__file__), "data", "files", name)


def mri_heldout(size: int) -> List[np.ndarray]:
    """Real MR brain slices from dipy's wheel (another source than the MNI template):
    size 128: four b0 slices of the diffusion series and the T1 coronal slice at half size;
    size 256: the T1 coronal slice and two b0 slices at double size."""
    import nibabel as nib
    from scipy.ndimage import zoom
    t1 = np.load(_dipy_file("t1_coronal_slice.npy")).astype(np.float32)
    s0 = nib.load(_dipy_file("S0_10slices.nii.gz")).get_fdata()[..., 0].astype(np.float32)
    s0 = np.clip(s0 / np.percentile(s0, 99.9), 0.0, 1.0)
    b0 = [np.ascontiguousarray(np.rot90(s0[:, :, k])) for k in (3, 5, 7)]
    if size == 128:
        imgs = b0 + [_half(t1)]
    elif size == 256:
        imgs = [t1] + [np.clip(zoom(b, 2, order=3), 0, 1) for b in b0[:2]]
    else:
        raise ValueError(f"real MR held-out slices come at 128 or 256, not {size}")
    return [np.ascontiguousarray(np.clip(i, 0.0, 1.0), dtype=np.float32) for i in imgs]


# ---------------------------------------------------------------------------- sources
class Source:
    """Infinite stream of clean images for training, and a fixed held-out set."""

    def __init__(self, kind: str, size: int, augment: bool = True, hard_fraction: float = 0.5):
        """`hard_fraction`: the share of hard-edged phantoms in `phantom-edges` training batches
        (its held-out images keep half)."""
        if kind not in ("phantom", "phantom-edges", "natural", "mri", "mri-lowres"):
            raise ValueError(f"unknown data kind {kind!r}")
        if not 0 <= hard_fraction <= 1:
            raise ValueError(f"hard_fraction {hard_fraction} is not in [0, 1]")
        self.hard_fraction = hard_fraction
        self.kind, self.size = kind, size
        self._train = (NaturalPatches(NATURAL_TRAIN, size, augment=augment) if kind == "natural"
                       else MRISlices(size, augment) if kind == "mri"
                       else MRISlices(size, augment, low_resolution=0.3) if kind == "mri-lowres" else None)
        self._held = None

    def batch(self, rng: np.random.Generator, b: int) -> np.ndarray:
        """[b, 1, N, N] float32 training images."""
        if self.kind in ("phantom", "phantom-edges"):
            draw = phantom if self.kind == "phantom" else partial(edges_phantom, hard_fraction=self.hard_fraction)
            imgs = [draw(np.random.default_rng(int(rng.integers(0, HELDOUT_SEED_BASE))), self.size) for _ in range(b)]
        else:
            imgs = [self._train.sample(rng) for _ in range(b)]
        return np.stack(imgs)[:, None]

    def heldout(self, count: int, seed: int = 0) -> np.ndarray:
        """[count, 1, N, N] float32 held-out images (fixed for a given seed)."""
        if self.kind in ("phantom", "phantom-edges"):
            draw = phantom if self.kind == "phantom" else edges_phantom
            imgs = [draw(np.random.default_rng(HELDOUT_SEED_BASE + seed * 100_000 + i), self.size) for i in range(count)]
        elif self.kind in ("mri", "mri-lowres"):
            imgs = mri_heldout(self.size)[:count]
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


def model_data_kind(models_dir: str, name: str) -> str:
    """The data kind a model was trained on: its run's train_config.json (args.data) when
    there is one, else its name up to the first "-" (phantom, natural, mri)."""
    import json
    import os
    config = os.path.join(models_dir, name, "train_config.json")
    if os.path.isfile(config):
        with open(config) as fh:
            return json.load(fh)["args"]["data"]
    return name.split("-")[0]


def describe() -> Dict[str, object]:
    return {"natural_train": NATURAL_TRAIN, "natural_heldout": NATURAL_HELDOUT,
            "phantom_heldout_seed_base": HELDOUT_SEED_BASE,
            "mri_train": "nilearn MNI152 ICBM 2009a T1 + grey/white matter maps",
            "mri_heldout": "dipy t1_coronal_slice.npy, S0_10slices.nii.gz slices 3, 5, 7"}
