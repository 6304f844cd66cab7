#!/usr/bin/env bash
# The DeepPCB compression runs of issue #12, one compile per step so that the recovery variants share
# the sparse and pruned checkpoints. Every step resumes (--resume) from its `<out>.work/` folder under
# bench/runs/ (git-ignored); `snapshot` force-adds what a resume needs of the unfinished steps
# (progress, finished stages' result.pt, the stage's data.yaml, Ultralytics' last.pt, args and results), so a later session on a
# checkout at the same path continues it with the same command.
#   bash bench/pcb_compress.sh sparse        # stage A: sparsity training (≈ 1 h on 2 cores)
#   bash bench/pcb_compress.sh prune NAME    # NAME 65|55|-g75|-g80: prune the sparse model by recipe pcb-pruneNAME (minutes)
#   bash bench/pcb_compress.sh recover NAME METHOD   # stage B: NAME as for prune, METHOD cwd|ft (≈ 1 h each, two at once)
#   bash bench/pcb_compress.sh snapshot      # git add -f the resume files of unfinished steps
# SPARSE=VARIANT picks another stage A: recipe bench/recipes/pcb-sparse-VARIANT.yaml, model
# bench/models/pcb-yolov8n-sparse-VARIANT.pt, and the prune/recover outputs named after it
# (e.g. SPARSE=g75 bash bench/pcb_compress.sh prune -g75 → pcb-yolov8n-sparse-g75-prune-g75.pt).
# Without it, the first stage A (pcb-sparse65.yaml, pcb-yolov8n-sparse.pt) and the session-6 names.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$1" = snapshot ]; then
  shopt -s nullglob
  git add -f bench/runs/*.work/progress.json bench/runs/*.work/*/data.yaml bench/runs/*.work/*/result.pt \
    bench/runs/*.work/*/train/args.yaml bench/runs/*.work/*/train/results.csv \
    bench/runs/*.work/*/train/weights/last.pt
  exit 0
fi
python bench/pcb_data.py --shared ../shared/data --out runs/pcb-data >/dev/null
data=runs/pcb-data/data.yaml
if [ -n "${SPARSE:-}" ]; then
  recipe_a="bench/recipes/pcb-sparse-${SPARSE}.yaml" sparse="sparse-${SPARSE}" pruned="sparse-${SPARSE}-prune"
else
  recipe_a=bench/recipes/pcb-sparse65.yaml sparse=sparse pruned=prune
fi
case "$1" in
  sparse)
    edgecompress compile bench/models/pcb-yolov8n.pt --data "$data" --target x86-cpu \
      --recipe "$recipe_a" --out "bench/runs/pcb-${sparse}" --resume --force
    cp "bench/runs/pcb-${sparse}/model.pt" "bench/models/pcb-yolov8n-${sparse}.pt"
    ;;
  prune)
    ratio=$2
    edgecompress compile "bench/models/pcb-yolov8n-${sparse}.pt" --data "$data" --target x86-cpu \
      --recipe "bench/recipes/pcb-prune${ratio}.yaml" --out "bench/runs/pcb-${sparse}-prune${ratio}" --force
    cp "bench/runs/pcb-${sparse}-prune${ratio}/model.pt" "bench/models/pcb-yolov8n-${sparse}-prune${ratio}.pt"
    ;;
  recover)
    ratio=$2 method=$3
    edgecompress compile "bench/models/pcb-yolov8n-${sparse}-prune${ratio}.pt" --data "$data" --target x86-cpu \
      --recipe "bench/recipes/pcb-recover-${method}.yaml" --out "bench/runs/pcb-${pruned}${ratio}-${method}" \
      --resume --force
    cp "bench/runs/pcb-${pruned}${ratio}-${method}/model.pt" "bench/models/pcb-yolov8n-${pruned}${ratio}-${method}.pt"
    ;;
  *) echo "usage: $0 sparse|prune RATIO|recover RATIO METHOD|snapshot" >&2; exit 2 ;;
esac
