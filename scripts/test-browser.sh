#!/usr/bin/env bash
# The live view in a real headless browser (Debian's chromium; installed when missing), driven
# over the DevTools protocol (websocket-client from PyPI). Writes .build/artifacts/live-view.png.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
if ! python3 -c "import zmq, numpy, pytest, websocket" 2>/dev/null; then
  python3 -m pip install --quiet pyzmq numpy pytest websocket-client
fi
LPND="${LPND:-.build/release/lpnd}" python3 -m pytest -q Tests/Browser
