#!/usr/bin/env bash
# Mask-aware sparsity training, then global pruning with statistics repair, then plain fine-tuning
# vs CWD (teacher: the original demo model) at equal epochs, result lowered to OpenVINO INT8.
#   bash bench/compress_masked.sh  → runs/bench-masked/*/report.json, summarised by bench/compress_table.py
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(python -c "from edgecompress.demo import demo_data_yaml; print(demo_data_yaml())")
edgecompress compile --recipe bench/recipes/demo-masksparse50-gentle.yaml --target x86-cpu \
  --out runs/bench-masked/sparse --force --quiet
for recipe in demo-prune40-ft10-nbs16-int8 demo-prune40-cwd10-nbs16-int8; do
  edgecompress compile runs/bench-masked/sparse/model.pt --data "$DATA" --recipe "bench/recipes/$recipe.yaml" \
    --target x86-cpu --out "runs/bench-masked/$recipe" --force --quiet
done
python bench/compress_table.py runs/bench-masked/*/report.json > bench/results/compress_masked.md
