"""The noise-level rule: LPN-ADMM's model and ρ from the problem's noise level alone
(docs/MODELS.md, "Choosing the model and ρ").

For a problem in domain D (phantom, natural photos, MRI) whose every measured value carries
Gaussian noise of standard deviation σ, at θ = 1:

1. **Model**: of D's models (FAMILIES[D], those present in the models folder), the one with
   the smallest training noise σₜ ≥ 2σ (model_factor); if none is that large, the one with
   the largest σₜ. σₜ is the model file's `noise_level` (safetensors metadata).
2. **ρ = c·(σ/σₜ)²**, c = 4 for phantoms, 2 for photos, 2.5 for MRI (admm), clipped to
   [0.005, 1] (rho_min, rho_max) and rounded to 3 significant digits.
3. Only without ADMM's box (solver.box false): a sparse problem, an iterative (CG) x-step
   with fewer than 1/8 measurements per pixel (sparse_rate), takes ρ ≥ 0.1 (sparse_rho_min);
   such frames drift and collapse at small ρ when nothing holds x in [0, 1].

The constants were fitted on training images (`benchmarks/results.py --tune`). Every shipped
LPN-ADMM pipeline follows the rule, or names why not (benchmarks/test_noise_rule.py checks
them), and so does every LPN-ADMM entry of docs/RESULTS.md (benchmarks/results.py). The
rule's other parts, the dihedral symmetry on square frames and the box itself, are settings
of the pipelines (results.py: `symmetry_for`, --box). Needs numpy.
"""
from __future__ import annotations

import json
import os

import numpy as np

from common import MODELS

# The folder with the domains' .safetensors (results.py --models sets it).
MODELS_DIR = [MODELS]

# Each domain's models, by training noise level (docs/MODELS.md); the rule picks among them.
FAMILIES = {"phantom": ["phantom"], "natural": ["natural", "natural-s05"], "mri": ["mri-lowres"]}

# The rule's constants (parts 1 to 3 above), fitted with results.py --tune on training images.
RULE = dict(model_factor=2.0, admm={"phantom": 4.0, "natural": 2.0, "mri": 2.5}, rho_min=0.005, rho_max=1.0,
            sparse_rate=0.125, sparse_rho_min=0.1)


def model_path(kind: str, base: bool = False, name: str = None) -> str:
    """The domain's model file: `name`, or the domain's first model (base: the N x N model the
    whole-frame one was fine-tuned from, which results.py's patches column runs as it was
    shipped before); natural falls back to the phantom model when natural is missing."""
    name = name or FAMILIES[kind][0]
    path = os.path.join(MODELS_DIR[0], f"{name}{'-base' if base else ''}.safetensors")
    if not os.path.exists(path) and kind == "natural":
        return os.path.join(MODELS_DIR[0], "phantom.safetensors")
    return path


def family(kind: str) -> list:
    """The domain's models that are present in the models folder."""
    return [m for m in FAMILIES[kind] if os.path.exists(model_path(kind, name=m))]


def training_noise(kind: str, name: str) -> float:
    """The model file's `noise_level` (safetensors metadata)."""
    with open(model_path(kind, name=name), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return float(json.loads(f.read(n))["__metadata__"]["noise_level"])


def rule(kind: str, noise: float, rate: float = 1.0, iterative: bool = False, box: bool = True):
    """-> (model name, ρ) for LPN-ADMM on a problem of domain `kind` at noise σ = `noise`, with
    `rate` measurements per pixel, an `iterative` x-step or not, and ADMM's `box` on or off
    (rate and iterative: `operator_traits`)."""
    models = sorted(family(kind), key=lambda m: training_noise(kind, m))
    fits = [m for m in models if training_noise(kind, m) >= RULE["model_factor"] * noise]
    model = fits[0] if fits else models[-1]
    w = (noise / training_noise(kind, model)) ** 2
    sparse = iterative and rate < RULE["sparse_rate"]
    floor = RULE["sparse_rho_min"] if sparse and not box else RULE["rho_min"]
    rho = float(np.clip(RULE["admm"][kind] * w, floor, RULE["rho_max"]))
    return model, float(f"{rho:.3g}")


def operator_traits(problem: dict):
    """(measurements per pixel, whether ADMM's x-step is iterative) of the `operator` of a
    problem: a results.py row or a pipeline (they share the operator section)."""
    op = problem["operator"]
    if op["type"] == "mri":
        return 1.0 / op["acceleration"], False
    return float(op.get("rate", 1.0)), op["type"] in ("random_convolution", "blur")
