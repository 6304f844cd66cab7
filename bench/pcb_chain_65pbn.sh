#!/usr/bin/env bash
# Session 8's DeepPCB chain after the precise-BN fix: stage A (pcb-sparse-65pbn), the global -75 % FLOPs
# prune, then 10-epoch recoveries by plain fine-tuning and by CWD at weight 90, side by side.
#   bash bench/pcb_chain_65pbn.sh        (each step resumes; about 1.5 h on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export SPARSE=65pbn
bash bench/pcb_compress.sh sparse
bash bench/pcb_compress.sh prune -g75
bash bench/pcb_compress.sh recover -g75 ft10 &
bash bench/pcb_compress.sh recover -g75 cwd10-w90 &
wait
