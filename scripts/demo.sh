#!/usr/bin/env bash
# The main job on embedded defaults: the daemon, an acquisition simulator and a listener on
# loopback, streaming phantom k-space through pipelines/mri-4x.yaml (shipped phantom LPN).
set -euo pipefail
cd "$(dirname "$0")/.."
LPND="${1:-.build/release/lpnd}"
OUT="${2:-demo-out}"
exec "$LPND" demo --pipeline pipelines/mri-4x.yaml --frames "${FRAMES:-8}" --output "$OUT"
