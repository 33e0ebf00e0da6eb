#!/usr/bin/env bash
# The main job on embedded defaults: the daemon, an acquisition simulator and a listener on
# loopback, streaming a dynamic phantom sequence through pipelines/mri-4x-stream.yaml (shipped
# phantom LPN, warm-started across the stream's frames).
set -euo pipefail
cd "$(dirname "$0")/.."
LPND="${1:-.build/release/lpnd}"
OUT="${2:-demo-out}"
exec "$LPND" demo --pipeline pipelines/mri-4x-stream.yaml --frames "${FRAMES:-40}" --output "$OUT"
