#!/usr/bin/env python3
"""The shipped pipelines against the noise-level rule (benchmarks/noise_rule.py, docs/MODELS.md
"Choosing the model and ρ"): every pipelines/*.yaml with an LPN prior and the ADMM solver
must name the model and ρ (solver.rho) that the rule gives for its domain, its noise level
(simulation.noise) and its operator, or be listed in EXCEPTIONS with the documented reason.
Needs numpy and PyYAML; reads the model files' metadata, runs nothing.

    python3 benchmarks/test_noise_rule.py        # (make test: scripts/test-python-client.sh)
"""
from __future__ import annotations

import glob
import os
import unittest

from common import PIPELINES, load_pipeline
from noise_rule import FAMILIES, family, operator_traits, rule

# The images each LPN-ADMM pipeline is for, which the files do not say: the rule's domain. A
# new LPN-ADMM pipeline fails the test until it is added here.
DOMAINS = {
    "mri-4x": "phantom",  # the daemon demo's generated phantoms
    "mri-4x-stream": "phantom",
    "dense-cs-64": "phantom",
    "random-conv-128": "phantom",
    "deblur-1": "natural",
    "mri-brain-4x": "mri",
    "mri-brain-4x-stream": "mri",
    "mri-mc-4x": "mri",
    "mri-mc-8x": "mri",
}

# Shipped values that differ from the rule on purpose: pipeline -> {"model" or "rho": (the
# shipped value, why)}. The shipped value is checked too, so the entry goes stale loudly.
EXCEPTIONS = {
    "mri-mc-8x": {"model": ("mri-s05-long", "multi-coil MRI's model was tuned on MNI training slices "
                            "(benchmarks/multicoil.py): it picks mri-lowres at 4× and mri-s05-long at 8×, both "
                            "at the rule's ρ = 0.1 (docs/MODELS.md, end of 'Choosing the model and ρ'; "
                            "docs/RESULTS.md, 'Multi-coil MRI')")},
    "mri-brain-4x-stream": {"rho": (0.2, "a stream stops after 4 warm iterations, far from ADMM's fixed point; "
                                    "ρ was chosen with the iteration count on dynamic sequences of two MNI training "
                                    "slices: 4 at ρ 0.2 match 5 at the rule's 0.1 (docs/BENCHMARKS.md, 'Real-time "
                                    "streams')")},
}


def shipped() -> dict:
    """{name: pipeline dict} of every pipelines/*.yaml with an LPN prior and the ADMM solver."""
    out = {}
    for path in sorted(glob.glob(os.path.join(PIPELINES, "*.yaml"))):
        p = load_pipeline(path)
        if p.get("prior", {}).get("type") == "lpn" and p.get("solver", {}).get("type") == "admm":
            out[os.path.splitext(os.path.basename(path))[0]] = p
    return out


class ShippedPipelinesFollowTheRule(unittest.TestCase):
    def test_every_lpn_admm_pipeline_has_a_domain(self):
        self.assertEqual(sorted(shipped()), sorted(DOMAINS), "DOMAINS must list exactly the shipped LPN-ADMM pipelines")
        self.assertLessEqual(set(EXCEPTIONS), set(DOMAINS), "an exception names a pipeline that is not shipped")

    def test_model_and_rho(self):
        for name, p in shipped().items():
            with self.subTest(pipeline=name):
                kind = DOMAINS.get(name)
                self.assertIsNotNone(kind, "add the pipeline's domain to DOMAINS")
                self.assertTrue(family(kind), f"no {kind} model in the models folder")
                self.assertIn("noise", p.get("simulation", {}), "the rule needs simulation.noise")
                noise, box = p["simulation"]["noise"], p["solver"].get("box", False)
                expected = dict(zip(("model", "rho"), rule(kind, noise, *operator_traits(p), box=box)))
                actual = dict(model=os.path.basename(p["prior"]["model"]).removesuffix(".safetensors"),
                              rho=p["solver"].get("rho"))
                for key, value in EXCEPTIONS.get(name, {}).items():
                    self.assertNotEqual(value[0], expected[key], f"{key}: the exception is the rule's value now; drop it")
                    expected[key] = value[0]
                    self.assertTrue(value[1], "an exception needs its reason")
                why = f"the rule for {kind} at noise {noise}, rate and x-step {operator_traits(p)}, box {box}"
                self.assertEqual(actual["model"], expected["model"], why)
                self.assertAlmostEqual(actual["rho"], expected["rho"], places=9, msg=why)


class TheRule(unittest.TestCase):
    """docs/MODELS.md's worked values."""

    def test_documented_values(self):
        self.assertEqual(rule("mri", 0.01), ("mri-lowres", 0.1))  # 2.5·(0.01/0.05)²
        self.assertEqual(rule("natural", 0.02), ("natural-s05", 0.32))  # σₜ = 0.05 ≥ 2σ; 2·(0.02/0.05)²
        self.assertEqual(rule("natural", 0.05), ("natural", 0.5))  # σₜ = 0.1 ≥ 2σ; 2·(0.05/0.1)²
        self.assertEqual(rule("phantom", 0.01), ("phantom", 0.04))  # 4·(0.01/0.1)²
        self.assertEqual(rule("phantom", 0.001), ("phantom", 0.005))  # clipped to rho_min

    def test_sparse_floor_only_without_the_box(self):
        self.assertEqual(rule("phantom", 0.001, 1 / 16, True, box=True), ("phantom", 0.005))
        self.assertEqual(rule("phantom", 0.001, 1 / 16, True, box=False), ("phantom", 0.1))
        self.assertEqual(rule("phantom", 0.001, 1 / 4, True, box=False), ("phantom", 0.005))  # not sparse

    def test_largest_training_noise_when_none_fits(self):
        self.assertEqual(rule("natural", 0.2)[0], "natural")

    def test_families_name_model_files(self):
        for kind in FAMILIES:
            self.assertEqual(family(kind), FAMILIES[kind], f"a {kind} model file is missing")


if __name__ == "__main__":
    unittest.main()
