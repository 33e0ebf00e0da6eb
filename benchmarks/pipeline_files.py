"""Pipeline-file helpers shared by the daemon benchmarks."""
import os
import re


def without_check(path: str, directory: str) -> str:
    """A copy of pipeline `path` in `directory` without its `check` section (and with its
    model paths made absolute): the throughput benchmarks measure the pipeline's frames, not the
    cross-validation a worker's first frame would add (docs/PIPELINES.md, `check`)."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"(?m)^check:\n(?:[ #].*\n?)*", "", text)
    models = os.path.join(os.path.dirname(os.path.abspath(path)), "..", "models")
    text = text.replace("../models/", os.path.normpath(models) + "/")
    out = os.path.join(directory, os.path.basename(path))
    with open(out, "w") as f:
        f.write(text)
    return out
