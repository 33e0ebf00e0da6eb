#!/usr/bin/env bash
# The Python side of `make test`: the shipped pipelines against the noise-level rule
# (benchmarks/test_noise_rule.py: numpy, PyYAML), then the Python client's end-to-end test
# against the release lpnd binary (pyzmq, numpy, pytest), then the MRD endpoint driven by the
# official ismrmrd package (clients/mrd: ismrmrd, h5py; ismrmrd-tools from install-deps.sh).
# Missing packages come from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import zmq, numpy, pytest, yaml, ismrmrd, h5py" 2>/dev/null; then
  python3 -m pip install --quiet pyzmq numpy pytest pyyaml ismrmrd h5py
fi
python3 benchmarks/test_noise_rule.py
LPND="${LPND:-.build/release/lpnd}" python3 -m pytest -q clients/python clients/mrd
