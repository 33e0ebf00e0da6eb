#!/bin/sh
# Retrain lpnd's shipped models (called by `make models`). One CPU thread, sequential,
# resumable: re-running continues from models/<name>/checkpoint.pt.
# Per-model schedules (L1 + proximal-matching steps, hidden 32, ~0.35-0.5 s/step on one core):
#   phantom  2500 + 2500  (~40 min)
#   natural  7000 + 2000  (~55 min)
# STEPS_L1 / STEPS_PM override both models' schedules.
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
MODELS=${MODELS:-"phantom natural"}
for m in $MODELS; do
  case "$m" in
    natural) l1=7000; pm=2000 ;;
    *)       l1=2500; pm=2500 ;;
  esac
  l1=${STEPS_L1:-$l1}
  pm=${STEPS_PM:-$pm}
  mkdir -p "models/$m"
  echo "== training $m ($l1 L1 + $pm proximal-matching steps)"
  "$PY" training/train.py --data "$m" --name "$m" --threads 1 \
      --steps-l1 "$l1" --steps-pm "$pm" --resume 2>&1 | tee -a "models/$m/train_stdout.log"
  echo "== evaluating $m"
  "$PY" training/evaluate_denoisers.py --models "$m" 2>&1 | tee -a "models/$m/eval_stdout.log" || true
done
