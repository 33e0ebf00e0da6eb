#!/bin/sh
# Retrain lpnd's shipped models (called by `make models`). One CPU thread per run, sequential,
# resumable: re-running continues from models/<run>/checkpoint.pt, and a finished run (its
# .safetensors newer than its checkpoint) is skipped. docs/MODELS.md has the why of each step.
#
#   phantom-base  64x64 model, 2500 L1 + 2500 proximal-matching steps, noise 0.1   (~40 min)
#   phantom       whole-frame fine-tune of phantom-base, 128 crops, zero padding   (~25 min)
#   natural-base  64x64 model, 7000 + 2000 steps, noise 0.1                         (~55 min)
#   natural       whole-frame fine-tune of natural-base, reflect padding           (~55 min)
#   natural-s05   natural fine-tuned at noise 0.05 on more photos, augmented        (~45 min)
#   mri-s05       phantom fine-tuned on MNI152 slices (real MR anatomy), noise 0.05 (~40 min)
#   mri-s02       the same at noise 0.02                                           (~40 min)
#   mri-s05-long  mri-s05 continued: 4000 more proximal-matching steps              (~70 min)
#   mri-s05-longer mri-s05-long continued: 2400 more steps at half the rate         (~35 min)
#   natural-s05-long natural-s05 continued: 3600 more proximal-matching steps       (~90 min)
#   mri-lowres    mri-s05-long continued on MNI slices of which 30 % are made coarser (1.5-3x
#                 down, cubic back up, as a low-resolution scan interpolated to the frame):
#                 3000 proximal-matching steps; the MRI pipelines' model          (~60 min)
#
# Experimental, not in the default list (MODELS=... to run): a wider network, from scratch.
#   mri64-base    hidden 64, 64x64 MNI slices, 2500 L1 + 2500 proximal-matching steps,
#                 noise 0.05 (~2.2 h at 1.6 s/step; resumable across sessions)
#   mri64         whole-frame fine-tune of mri64-base, 128 crops, zero padding, 300 + 1000
#                 steps (~5 s/step; resumable across sessions)
#   natural64-base hidden 64, 64x64 photo patches, 6000 L1 + 2000 proximal-matching steps,
#                 noise 0.05 (~2.5 h at 1.0-1.6 s/step; resumable across sessions)
#   natural64     whole-frame fine-tune of natural64-base, 128 crops, reflect padding, 300 + 1000
#                 steps (~4 s/step; resumable across sessions)
#   natural64w    hidden 64, the whole-frame potential from the start (128 crops, reflect padding,
#                 no 64x64 stage), noise 0.05, batch 16, 10000 L1 + 10000 proximal-matching
#                 steps: sized for a GPU (TRAIN_ARGS="--device cuda --workers 14"; on one CPU
#                 thread it would take days)
#
# then the held-out evaluation and the calibration of each model's prior range (lpnd calibrate).
# MODELS selects runs (default: all, in the order above; later ones start from earlier ones);
# PYTHON and LPND name the interpreter and the lpnd binary. TRAIN_ARGS is added to every
# train.py call (e.g. "--device cuda --workers 14 --max-minutes 8" on a GPU machine lent for a
# fixed time, docs/MODELS.md "Training on a GPU machine"); TRAIN_ONLY=1 skips the calibration
# and the evaluation (which need the lpnd binary). A run stopped by --max-minutes is left
# unfinished (no model file) and resumes where it stopped the next time.
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LPND=${LPND:-.build/release/lpnd}
MODELS=${MODELS:-"phantom-base phantom natural-base natural natural-s05 mri-s05 mri-s02 mri-s05-long mri-s05-longer natural-s05-long mri-lowres"}

# train NAME DATA NOISE ARGS...: one resumable run, skipped when already finished
train() {
  name=$1; data=$2; noise=$3; shift 3
  mkdir -p "models/$name"
  if [ -f "models/$name.safetensors" ] && [ ! "models/$name/checkpoint.pt" -nt "models/$name.safetensors" ] \
     && [ -f "models/$name/checkpoint.pt" ]; then
    echo "== $name: finished (models/$name.safetensors), skipped"
  else
    echo "== training $name ($data, noise $noise)"
    # shellcheck disable=SC2086  # TRAIN_ARGS is a list of words
    "$PY" training/train.py --data "$data" --name "$name" --noise "$noise" --threads 1 --resume "$@" $TRAIN_ARGS \
      2>&1 | tee -a "models/$name/train_stdout.log"
  fi
  if [ ! -f "models/$name.safetensors" ] || [ "models/$name/checkpoint.pt" -nt "models/$name.safetensors" ]; then
    echo "== $name: unfinished (stopped before its last step); run again to resume"
    return 0
  fi
  [ -n "${TRAIN_ONLY:-}" ] && return 0
  echo "== calibrating and evaluating $name"
  # calibrate first: it stores the padding the model is served with, which the evaluation uses
  case "$name" in *-base) ;; *) "$PY" training/calibrate.py --lpnd "$LPND" --models "$name" ;; esac
  "$PY" training/evaluate_denoisers.py --models "$name" 2>&1 | tee -a "models/$name/eval_stdout.log" || true
}

# fine-tune NAME DATA NOISE PADDING INIT L1 PM [ARGS...]: whole-frame potential on 128x128
# crops, batch 4
finetune() {
  n=$1; d=$2; s=$3; pad=$4; init=$5; l1=$6; pm=$7; shift 7
  train "$n" "$d" "$s" --frame 128 --padding "$pad" --batch 4 --init "models/$init.safetensors" \
    --steps-l1 "$l1" --steps-pm "$pm" --lr-l1 3e-4 --ckpt-every 100 "$@"
}

# lower noise from a noise-0.1 model: start from its exact relaxation theta*f + (1 - theta)*x with
# theta = (noise/0.1)^2, and learn alpha (the identity part) with the weights
lower() { finetune "$1" "$2" "$3" "$4" "$5" "$6" "$7" --init-strength "$8" --learn-alpha; }

for m in $MODELS; do
  case "$m" in
    phantom-base) train phantom-base phantom 0.1 --steps-l1 2500 --steps-pm 2500 ;;
    phantom)      finetune phantom phantom 0.1 zero phantom-base 400 2000 ;;
    natural-base) train natural-base natural 0.1 --steps-l1 7000 --steps-pm 2000 ;;
    natural)      finetune natural natural 0.1 reflect natural-base 400 2000 ;;
    natural-s05)  lower natural-s05 natural 0.05 reflect natural 300 1000 0.25 ;;
    mri-s05)      finetune mri-s05 mri 0.05 zero phantom 300 1000 ;;
    mri-s02)      lower mri-s02 mri 0.02 zero phantom 300 1000 0.04 ;;
    mri-s05-long) finetune mri-s05-long mri 0.05 zero mri-s05 0 4000 --lr-pm 1e-4 ;;
    mri-s05-longer) finetune mri-s05-longer mri 0.05 zero mri-s05-long 0 2400 --lr-pm 5e-5 ;;
    natural-s05-long) finetune natural-s05-long natural 0.05 reflect natural-s05 0 3600 --lr-pm 1e-4 --learn-alpha ;;
    mri64-base)   train mri64-base mri 0.05 --hidden 64 --steps-l1 2500 --steps-pm 2500 ;;
    mri64)        finetune mri64 mri 0.05 zero mri64-base 300 1000 --hidden 64 ;;
    natural64-base) train natural64-base natural 0.05 --hidden 64 --steps-l1 6000 --steps-pm 2000 ;;
    mri-lowres)   finetune mri-lowres mri-lowres 0.05 zero mri-s05-long 0 3000 --lr-pm 1e-4 ;;
    natural64)    finetune natural64 natural 0.05 reflect natural64-base 300 1000 --hidden 64 ;;
    natural64w)   train natural64w natural 0.05 --hidden 64 --frame 128 --padding reflect --batch 16 \
                    --steps-l1 10000 --steps-pm 10000 --ckpt-every 250 ;;
    *) echo "unknown model run $m" >&2; exit 2 ;;
  esac
done
