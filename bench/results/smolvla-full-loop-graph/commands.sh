set -e
A=/tmp/full16/graph-artifacts
mkdir -p $A
for pair in baseline=/tmp/full16/smolvla-450m-mw flops30=/tmp/full16/artifacts/flops30/model; do
  name=${pair%%=*}; model=${pair#*=}
  /usr/bin/time -v -o /tmp/full16/graph-compile-$name.time nice -n 5 edgecompress compile $model --family policy --target bench/policy/x86-cpu-brief.yaml --recipe bench/recipes/vla-baseline.yaml --set measure.baseline=false --set measure.frames=1 --out $A/$name --force --quiet
  grep -E "Maximum resident|Elapsed" /tmp/full16/graph-compile-$name.time
done
python bench/quiet.py -- python bench/policy/smolvla_metaworld_eval.py run --policy /tmp/full16/smolvla-450m-mw --artifacts $A --variants baseline flops30 --tasks reach-v3 push-v3 --episodes 3 --max-steps 24 --supersample 1 --warmup-calls 1 --out bench/results/smolvla-full-loop-graph
python bench/quiet.py -- python bench/policy/smolvla_metaworld_eval.py summary --policy /tmp/full16/smolvla-450m-mw --artifacts $A --variants baseline flops30 --frames 0 --warm-warmup 2 --warm-iterations 10 --out bench/results/smolvla-full-loop-graph
python bench/policy/smolvla_metaworld_eval.py precision --policy /tmp/full16/smolvla-450m-mw --artifacts $A --variants baseline flops30 --target bench/policy/x86-cpu-brief.yaml --out bench/results/smolvla-full-loop-graph
echo done
