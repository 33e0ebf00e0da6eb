#!/usr/bin/env bash
# The Python client's end-to-end test against the release lpnd binary (pyzmq, numpy, pytest
# from PyPI when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import zmq, numpy, pytest" 2>/dev/null; then
  python3 -m pip install --quiet pyzmq numpy pytest
fi
LPND="${LPND:-.build/release/lpnd}" python3 -m pytest -q clients/python
