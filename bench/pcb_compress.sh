#!/usr/bin/env bash
# The DeepPCB compression runs of issue #12, one compile per step so that the recovery variants share
# the sparse and pruned checkpoints. Every step resumes (--resume) from its `<out>.work/` folder under
# bench/runs/ (git-ignored); `snapshot` force-adds what a resume needs of the unfinished steps
# (progress, the stage's data.yaml, Ultralytics' last.pt, args and results), so a later session on a
# checkout at the same path continues it with the same command.
#   bash bench/pcb_compress.sh sparse        # stage A: sparsity training (≈ 1 h on 2 cores)
#   bash bench/pcb_compress.sh prune NAME    # NAME 65|55|-g75|-g80: prune the sparse model by recipe pcb-pruneNAME (minutes)
#   bash bench/pcb_compress.sh recover NAME METHOD   # stage B: NAME as for prune, METHOD cwd|ft (≈ 1 h each, two at once)
#   bash bench/pcb_compress.sh snapshot      # git add -f the resume files of unfinished steps
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$1" = snapshot ]; then
  shopt -s nullglob
  git add -f bench/runs/*.work/progress.json bench/runs/*.work/*/data.yaml \
    bench/runs/*.work/*/train/args.yaml bench/runs/*.work/*/train/results.csv \
    bench/runs/*.work/*/train/weights/last.pt
  exit 0
fi
python bench/pcb_data.py --shared ../shared/data --out runs/pcb-data >/dev/null
data=runs/pcb-data/data.yaml
case "$1" in
  sparse)
    edgecompress compile bench/models/pcb-yolov8n.pt --data "$data" --target x86-cpu \
      --recipe bench/recipes/pcb-sparse65.yaml --out bench/runs/pcb-sparse65 --resume --force
    cp bench/runs/pcb-sparse65/model.pt bench/models/pcb-yolov8n-sparse.pt
    ;;
  prune)
    ratio=$2
    edgecompress compile bench/models/pcb-yolov8n-sparse.pt --data "$data" --target x86-cpu \
      --recipe "bench/recipes/pcb-prune${ratio}.yaml" --out "bench/runs/pcb-sparse-prune${ratio}" --force
    cp "bench/runs/pcb-sparse-prune${ratio}/model.pt" "bench/models/pcb-yolov8n-sparse-prune${ratio}.pt"
    ;;
  recover)
    ratio=$2 method=$3
    edgecompress compile "bench/models/pcb-yolov8n-sparse-prune${ratio}.pt" --data "$data" --target x86-cpu \
      --recipe "bench/recipes/pcb-recover-${method}.yaml" --out "bench/runs/pcb-prune${ratio}-${method}" \
      --resume --force
    cp "bench/runs/pcb-prune${ratio}-${method}/model.pt" "bench/models/pcb-yolov8n-prune${ratio}-${method}.pt"
    ;;
  *) echo "usage: $0 sparse|prune RATIO|recover RATIO METHOD|snapshot" >&2; exit 2 ;;
esac
