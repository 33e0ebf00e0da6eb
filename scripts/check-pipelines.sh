#!/bin/sh
# simulate → reconstruct with every shipped pipeline on a held-out phantom (or natural patch);
# prints lpnd's one-line summary (iterations, stop reason, residual, time, PSNR/SSIM).
# Usage: scripts/check-pipelines.sh [path/to/lpnd] [workdir]
set -eu
LPND=${1:-.build/release/lpnd}
WORK=${2:-out/check-pipelines}
mkdir -p "$WORK"
python3 - "$WORK" <<'PY'
import sys, numpy as np
sys.path.insert(0, "training")
from data import Source
for n in (64, 128, 256):
    np.save(f"{sys.argv[1]}/phantom{n}.npy", Source("phantom", n).heldout(1, seed=0)[0, 0])
PY
for p in pipelines/*.yaml; do
    name=$(basename "$p" .yaml)
    size=$(grep -m1 'shape:' "$p" | tr -dc '0-9,' | cut -d, -f1)
    img="$WORK/phantom$size.npy"
    "$LPND" simulate --pipeline "$p" --input "$img" --output "$WORK/$name-y.npy"
    "$LPND" reconstruct --pipeline "$p" --input "$WORK/$name-y.npy" --output "$WORK/$name-x.png" \
        --diagnostics "$WORK/$name.json" --reference "$img"
done
