#!/bin/sh
# Retrain lpnd's shipped models (called by `make models`). One CPU thread, sequential,
# resumable: re-running continues from models/<name>/checkpoint.pt.
# ~5000 steps x ~0.5 s = ~42 min per model on one core of a 2-core CPU.
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STEPS_L1=${STEPS_L1:-2500}
STEPS_PM=${STEPS_PM:-2500}
MODELS=${MODELS:-"phantom natural"}
for m in $MODELS; do
  mkdir -p "models/$m"
  echo "== training $m ($STEPS_L1 L1 + $STEPS_PM proximal-matching steps)"
  "$PY" training/train.py --data "$m" --name "$m" --threads 1 \
      --steps-l1 "$STEPS_L1" --steps-pm "$STEPS_PM" --resume 2>&1 | tee -a "models/$m/train_stdout.log"
  echo "== evaluating $m"
  "$PY" training/evaluate_denoisers.py --models "$m" 2>&1 | tee -a "models/$m/eval_stdout.log" || true
done
