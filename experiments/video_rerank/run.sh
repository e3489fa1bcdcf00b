#!/usr/bin/env bash
# Reproduces the table in README.md: same default simulator, same test split, every run is a
# plain `python -m edgerank` run (Hydra multirun), then summarise.py collects metrics.json.
#   bash experiments/video_rerank/run.sh [OUT_DIR] [extra overrides...]
# On a shared machine, OMP_NUM_THREADS=1 avoids thread oversubscription (10x slowdowns seen).
set -euo pipefail
OUT=${1:-outputs/video_rerank_study}
shift || true
COMMON=(+experiment=video_rerank logger=none trainer.enable_progress_bar=false "~callbacks.progress_bar" "$@")
# the three models, exported with the parity check (artifact/manifest.json has the .tflite size)
python -m edgerank -m "${COMMON[@]}" model=ta_mmoe,dnn,edgerec hydra.sweep.dir="$OUT/models"
# ablations of ta_mmoe: one feature group off at a time (no export needed)
for group in rts csf fe; do
  python -m edgerank -m "${COMMON[@]}" export.enabled=false model=ta_mmoe features.$group=false hydra.sweep.dir="$OUT/no_$group"
done
python "$(dirname "$0")/summarise.py" "$OUT"
