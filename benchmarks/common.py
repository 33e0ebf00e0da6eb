"""What the benchmarks share: the repository (ROOT, the release binary LPND), training/ and
clients/python/ on sys.path (training/data.py's images, training/lpn_torch.py, the wire
client lpnd_client.py), lpnd as a subprocess (`Runner`), the metrics (PSNR/SSIM at peak 1),
pipeline files rewritten for a run (`load_pipeline`, `variant`, `daemon_config`). BART is
benchmarks/bart.py, the noise-level rule benchmarks/noise_rule.py.

Every benchmark runs as `python3 benchmarks/<name>.py …` from anywhere: its own folder is
then on sys.path, so `import common` comes first and makes the rest importable. Needs numpy;
PyYAML where a pipeline file is read (`load_pipeline`, `variant`).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
for _folder in (os.path.join(_HERE, "..", "training"), os.path.join(_HERE, "..", "clients", "python")):
    _folder = os.path.normpath(_folder)
    if _folder not in sys.path:
        sys.path.insert(1, _folder)  # after the script's own folder

from shared import LPND, MODELS, ROOT, clipped_metrics, psnr, replace_block, run, ssim  # noqa: E402,F401

PIPELINES = os.path.join(ROOT, "pipelines")

__all__ = ["LPND", "MODELS", "PIPELINES", "ROOT", "Runner", "absolute_model", "clipped_metrics", "daemon_config",
           "load_pipeline", "psnr", "replace_block", "run", "ssim", "variant", "write_pipeline"]


class Runner:
    """The lpnd binary as a subprocess, with a work folder for its files. Every call is timed
    (`seconds`: all of them, `last_seconds`: the last one, wall clock, process start
    included); a failed call raises RuntimeError with lpnd's stderr."""

    def __init__(self, lpnd: str, work: str):
        self.lpnd, self.work = lpnd, work
        os.makedirs(work, exist_ok=True)
        self.seconds = self.last_seconds = 0.0

    def run(self, *args, env=None) -> str:
        """`lpnd ARGS…` -> its stdout."""
        t = time.perf_counter()
        try:
            return run([self.lpnd, *args], env=env)
        finally:
            self.last_seconds = time.perf_counter() - t
            self.seconds += self.last_seconds

    def json(self, *args):
        """`lpnd ARGS…` whose stdout is JSON (`bench … --json`, `prior`) -> the parsed value."""
        return json.loads(self.run(*args))

    def path(self, name: str) -> str:
        return os.path.join(self.work, name)

    def write_pipeline(self, p: dict) -> str:
        """Pipeline `p` as <work>/<p["name"]>.yaml (written as JSON, which is YAML)."""
        return write_pipeline(p, self.path(p["name"] + ".yaml"))

    def simulate(self, pipeline: str, x, name: str, *args, output: str = None, reuse: bool = False):
        """Image x saved as <work>/<name>-x.npy, `lpnd simulate`d through `pipeline` to `output`
        (default <work>/<name>-y.npy; a .cfl output is BART's layout), ARGS added (`--seed 3`);
        with `reuse`, an output already there is kept. -> (image path, measurement path)."""
        import numpy as np
        ref, out = self.path(name + "-x.npy"), output or self.path(name + "-y.npy")
        if not (reuse and os.path.exists(out)):
            np.save(ref, np.asarray(x, dtype=np.float32))
            self.run("simulate", "--pipeline", pipeline, "--input", ref, "--output", out, *args)
        return ref, out

    def reconstruct(self, pipeline: str, meas: str, ref: str, out: str, diag: str, *args) -> dict:
        """`lpnd reconstruct` of `meas` into `out` with its diagnostics (PSNR/SSIM against the
        image `ref`) written to `diag`, ARGS added (`--threads 2`) -> the diagnostics."""
        self.run("reconstruct", "--pipeline", pipeline, "--input", meas, "--output", out, "--diagnostics", diag,
                 "--reference", ref, *args)
        with open(diag) as f:
            return json.load(f)

    @contextlib.contextmanager
    def daemon(self, config: str):
        """`lpnd run --config CONFIG` for the time of the `with` block (output discarded)."""
        proc = subprocess.Popen([self.lpnd, "run", "--config", config], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(60)


def _read(path: str) -> dict:
    """A YAML file by PyYAML's safe loader, which here also reads 1e-3 (no dot) as a number, as
    YAML 1.2 and lpnd do (PyYAML is needed only where a pipeline file is read)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"),
                                 list("-+0123456789."))
    with open(path) as f:
        return yaml.load(f, Loader=Loader)


def load_pipeline(path: str) -> dict:
    """Pipeline file `path` as a dict, its prior's model path made absolute (a pipeline names
    it relative to its own folder)."""
    p = _read(path)
    absolute_model(p, path)
    return p


def absolute_model(p: dict, path: str) -> None:
    """Makes p's prior.model absolute, relative to pipeline file `path`'s folder."""
    prior = p.get("prior") or {}
    if prior.get("model"):
        prior["model"] = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), prior["model"]))


def write_pipeline(p: dict, path: str) -> str:
    """Writes pipeline `p` to `path` as JSON (which is YAML) -> `path`."""
    with open(path, "w") as f:
        json.dump(p, f, indent=1)
    return path


def variant(path: str, directory: str, tag: str = None, overrides: dict = None) -> str:
    """A copy of pipeline file `path` for a run, written to <directory>/<tag>.yaml (default: the
    file's own name): its model path absolute, without its `check` (the runs measure the
    frames, not the cross-validation; docs/PIPELINES.md), then `overrides` applied:
    {"section.key": value} sets one field, {"key": value} a top-level key or a whole section
    ({"name": …}, {"prior": {…}}, {"check": {…}}); None removes it. A relative model path in
    the overrides is relative to `path`'s folder, as in the file. -> the copy's path."""
    p = _read(path)
    p.pop("check", None)
    for key, value in (overrides or {}).items():
        section, field = key.split(".") if "." in key else (None, key)
        target = p.setdefault(section, {}) if section else p
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    absolute_model(p, path)
    name = tag or os.path.splitext(os.path.basename(path))[0]
    return write_pipeline(p, os.path.join(directory, name + ".yaml"))


def daemon_config(path: str, publish: str, pipeline: str, ingest: dict, http: str = "off", settings: dict = None,
                  **entry) -> str:
    """Writes an `lpnd run` config to `path`: outputs on `publish`, no stats, the HTTP server
    at `http` (host:port or off), `settings` at the top (frame_threads), and one pipeline:
    file `pipeline`, its `ingest` ({"endpoint": …, "mode": "connect"}) and `entry`'s keys
    (workers, png). -> `path`."""
    def scalar(v):
        return str(v).lower() if isinstance(v, bool) else str(v)

    lines = [f"publish: {publish}", "stats_interval: 0", f"http: {http}"]
    lines += [f"{k}: {scalar(v)}" for k, v in (settings or {}).items()]
    lines += ["pipelines:", f"  - file: {os.path.abspath(pipeline)}",
              "    ingest: {" + ", ".join(f"{k}: {scalar(v)}" for k, v in ingest.items()) + "}"]
    lines += [f"    {k}: {scalar(v)}" for k, v in entry.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
