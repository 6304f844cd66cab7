#!/usr/bin/env bash
# The YOLO26n row of BENCHMARKS.md (issue #17): the digits-trained YOLO26n, pruned and lowered with
# its NMS-free head, against itself unpruned, on the full digits val split (200 images) at 160.
#   bash bench/yolo26n_row.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(python -c "from edgecompress.demo.digits import demo_data_yaml; print(demo_data_yaml())")
edgecompress compile bench/models/yolo26n-digits.pt --data "$data" --target x86-cpu \
  --recipe bench/recipes/yolo26n-prune50.yaml --out bench/runs/yolo26n-prune50 --force
edgecompress compile bench/models/yolo26n-digits.pt --data "$data" --target x86-cpu --precision int8 \
  --set lower.nms_free=true --out bench/runs/yolo26n-int8 --force
edgecompress compile bench/models/yolo26n-digits.pt --data "$data" --target x86-cpu \
  --recipe bench/recipes/yolo26n-prune50-ft10.yaml --out bench/runs/yolo26n-prune50-ft10 --force
