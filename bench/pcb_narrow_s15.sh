#!/usr/bin/env bash
# Session 15 (issue #12): the narrow DeepPCB headline retrained, keeping each stage's final epoch.
# Usage: bash bench/pcb_narrow_s15.sh [DATA_YAML]   (default runs/pcb-data/data.yaml, made by
# bench/pcb_data.py). Each stage resumes from its work folder (--resume) and its checkpoint is
# copied into bench/models/ when the stage finishes; a finished stage is skipped.
set -euo pipefail
data=${1:-runs/pcb-data/data.yaml}
stage() {  # stage INPUT RECIPE OUT CHECKPOINT
    if [[ -f $4 ]]; then echo "have $4"; return; fi
    edgecompress compile "$1" --data "$data" --target x86-cpu --recipe "$2" --out "$3" --resume --force --quiet
    cp "$3/model.pt" "$4"
}
stage bench/models/pcb-yolov8n-prune-g75-r24b.pt bench/recipes/pcb-narrow-r24b-s15.yaml \
    bench/runs/pcb-narrow-s15 bench/models/pcb-yolov8n-narrow-s15.pt
stage bench/models/pcb-yolov8n-narrow-s15.pt bench/recipes/pcb-recover-narrow-s15-restart1.yaml \
    bench/runs/pcb-narrow-s15-restart1 bench/models/pcb-yolov8n-narrow-s15-r24.pt
stage bench/models/pcb-yolov8n-narrow-s15-r24.pt bench/recipes/pcb-recover-narrow-s15-restart2.yaml \
    bench/runs/pcb-narrow-s15-restart2 bench/models/pcb-yolov8n-narrow-s15-r24-r12.pt
