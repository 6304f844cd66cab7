#!/usr/bin/env bash
# The DeepPCB compression runs of issue #12, one compile per step so that the recovery variants share
# the sparse and pruned checkpoints. Every step resumes (--resume) from its `<out>.work/` folder, which
# lives under bench/runs/ and is committed while a step is unfinished, so a later session continues it.
#   bash bench/pcb_compress.sh sparse      # stage A: sparsity training + 50.5 % prune (≈ 1 h on 2 cores)
#   bash bench/pcb_compress.sh prune30     # the 30 % prune of the sparse model (minutes)
#   bash bench/pcb_compress.sh recover RATIO METHOD   # stage B: RATIO 505|30, METHOD cwd|ft (≈ 2 h each)
set -euo pipefail
cd "$(dirname "$0")/.."
python bench/pcb_data.py --shared ../shared/data --out runs/pcb-data >/dev/null
data=runs/pcb-data/data.yaml
case "$1" in
  sparse)
    edgecompress compile bench/models/pcb-yolov8n.pt --data "$data" --target x86-cpu \
      --recipe bench/recipes/pcb-sparse505.yaml --out bench/runs/pcb-sparse505 --resume --force
    cp bench/runs/pcb-sparse505.work/stage1-sparsity_train/result.pt bench/models/pcb-yolov8n-sparse.pt
    cp bench/runs/pcb-sparse505/model.pt bench/models/pcb-yolov8n-sparse-prune505.pt
    ;;
  prune30)
    edgecompress compile bench/models/pcb-yolov8n-sparse.pt --data "$data" --target x86-cpu --precision fp32 \
      --recipe bench/recipes/pcb-prune30.yaml --out bench/runs/pcb-sparse-prune30 --force
    cp bench/runs/pcb-sparse-prune30/model.pt bench/models/pcb-yolov8n-sparse-prune30.pt
    ;;
  recover)
    ratio=$2 method=$3
    edgecompress compile "bench/models/pcb-yolov8n-sparse-prune${ratio}.pt" --data "$data" --target x86-cpu \
      --recipe "bench/recipes/pcb-recover-${method}30.yaml" --out "bench/runs/pcb-prune${ratio}-${method}30" \
      --resume --force
    cp "bench/runs/pcb-prune${ratio}-${method}30/model.pt" "bench/models/pcb-yolov8n-prune${ratio}-${method}30.pt"
    ;;
  *) echo "usage: $0 sparse|prune30|recover RATIO METHOD" >&2; exit 2 ;;
esac
