#!/bin/sh
# Retrain lpnd's shipped models (called by `make models`). One CPU thread, sequential,
# resumable: re-running continues from models/<run>/checkpoint.pt.
# Two stages per model (docs/MODELS.md):
#   1. <m>-base: the N x N model (64 x 64, hidden 32), L1 + proximal-matching steps
#        phantom 2500 + 2500 (~40 min), natural 7000 + 2000 (~55 min)
#   2. <m>: fine-tuned from <m>-base as a whole-frame potential on 128 x 128 crops with the
#        padding it is served with (phantom zero, natural reflect), 400 + 2000 steps, batch 4
#        (~25 min phantom on two threads, ~55 min natural on one): the shipped models/<m>.safetensors
# then the held-out evaluation and the calibration of the prior's range (lpnd calibrate).
# STEPS_L1 / STEPS_PM override stage 1's schedules; LPND names the lpnd binary.
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LPND=${LPND:-.build/release/lpnd}
MODELS=${MODELS:-"phantom natural"}
for m in $MODELS; do
  case "$m" in
    natural) l1=7000; pm=2000; padding=reflect ;;
    *)       l1=2500; pm=2500; padding=zero ;;
  esac
  l1=${STEPS_L1:-$l1}
  pm=${STEPS_PM:-$pm}
  mkdir -p "models/$m-base" "models/$m"
  echo "== training $m-base ($l1 L1 + $pm proximal-matching steps, 64x64)"
  "$PY" training/train.py --data "$m" --name "$m-base" --threads 1 \
      --steps-l1 "$l1" --steps-pm "$pm" --resume 2>&1 | tee -a "models/$m-base/train_stdout.log"
  echo "== fine-tuning $m (whole frame, 128x128 crops, $padding padding)"
  "$PY" training/train.py --data "$m" --name "$m" --threads 1 --frame 128 --padding "$padding" \
      --batch 4 --init "models/$m-base.safetensors" --steps-l1 400 --steps-pm 2000 --lr-l1 3e-4 \
      --ckpt-every 200 --resume 2>&1 | tee -a "models/$m/train_stdout.log"
  echo "== evaluating $m"
  "$PY" training/evaluate_denoisers.py --models "$m" 2>&1 | tee -a "models/$m/eval_stdout.log" || true
  echo "== calibrating $m"
  "$PY" training/calibrate.py --lpnd "$LPND" --models "$m"
done
