#!/usr/bin/env bash
# Prune-only vs prune + plain fine-tune vs prune + CWD (equal epochs), with and without sparsity
# training first, on the demo model; OpenVINO FP32.
#   bash bench/compress_demo.sh  → runs/bench-compress/<recipe>/report.json, summarised by bench/compress_table.py
set -euo pipefail
cd "$(dirname "$0")/.."
for recipe in demo-prune50-only demo-prune50-ft10 demo-prune50-cwd10 demo-slim-sgd-cwd10; do
  edgecompress compile --recipe "bench/recipes/$recipe.yaml" --target x86-cpu \
    --out "runs/bench-compress/$recipe" --force --quiet
done
python bench/compress_table.py runs/bench-compress/*/report.json > bench/results/compress_demo.md
