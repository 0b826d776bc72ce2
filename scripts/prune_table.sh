#!/usr/bin/env bash
# The pruning table (run by hand, not in CI): a fine-tuned all-MiniLM-L6-v2 on Rotten Tomatoes,
# pruned by magnitude (global, encoder layer weights) to 0 / 0.3 / 0.5 / 0.7 with and without a
# recovery fine-tune, and by attention heads (Michel et al. importance) 0 / 25 / 50 %; test
# accuracy and macro-F1 on the run's own test split and inference samples/s (`fttrain bench
# --mode infer` on each saved model). Prints a Markdown table.
#
#   scripts/prune_table.sh RUN_DIR [OUT_DIR]
#
# RUN_DIR is an `fttrain train` output directory of the demo (examples/rotten_tomatoes.yaml):
# RUN_DIR/model is pruned, RUN_DIR/data/{train,validation,test}.jsonl are its splits.
# env FTTRAIN (default .build/release/fttrain), THREADS (2), RECOVERY_STEPS (optimizer steps of
#     each recovery fine-tune, default 100), IMPORTANCE_EXAMPLES (validation texts the head
#     importance is measured on, default 512), TEST_EXAMPLES (test texts, default all),
#     SPARSITIES ("0.3 0.5 0.7"), HEAD_FRACTIONS ("0.25 0.5"), BATCH/SEQ/STEPS of the bench (64/128/5).
# Magnitude pruning leaves the tensors dense: its speed is the dense model's (no sparse kernels);
# head pruning removes the heads' products.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: scripts/prune_table.sh RUN_DIR [OUT_DIR]}
out=${2:-runs/prune_table}
fttrain=${FTTRAIN:-.build/release/fttrain}
threads=${THREADS:-2} recovery_steps=${RECOVERY_STEPS:-100} importance=${IMPORTANCE_EXAMPLES:-512}
sparsities=${SPARSITIES:-"0.3 0.5 0.7"} fractions=${HEAD_FRACTIONS:-"0.25 0.5"}
batch=${BATCH:-64} seq=${SEQ:-128} steps=${STEPS:-5}
[ -x "$fttrain" ] || { echo "prune_table: $fttrain not built (swift build -c release)" >&2; exit 1; }
command -v jq >/dev/null || { echo "prune_table: needs jq" >&2; exit 1; }
mkdir -p "$out"
test_file=$out/test.jsonl importance_file=$out/importance.jsonl
if [ -n "${TEST_EXAMPLES:-}" ]; then head -n "$TEST_EXAMPLES" "$run/data/test.jsonl" > "$test_file"; else cp "$run/data/test.jsonl" "$test_file"; fi
head -n "$importance" "$run/data/validation.jsonl" > "$importance_file"
cat > "$out/recovery.yaml" <<YAML
train_file: $run/data/train.jsonl
validation_file: $importance_file
test_file: $test_file
max_steps: $recovery_steps
per_device_train_batch_size: 32
learning_rate: 3.0e-5
weight_decay: 0.01
warmup_ratio: 0.0
max_length: 64
save_strategy: "no"
eval_strategy: "no"
seed: 42
YAML

bench() {  # samples/s of inference on a model directory
    "$fttrain" bench --model-dir "$1" --mode infer --batch "$batch" --seq "$seq" --steps "$steps" --warmup 1 --threads "$threads" \
        | tail -1 | jq -r '.samples_per_s | . * 10 | round / 10'
}
row() {  # NAME MODEL_DIR ACCURACY F1 SPARSITY HEADS: one table row, with the bench of MODEL_DIR
    local name=$1 model=$2 accuracy=$3 f1=$4 sparsity=$5 heads=$6
    printf '| %s | %s | %s | %.4f | %.4f | %s |\n' "$name" "$sparsity" "$heads" "$accuracy" "$f1" "$(bench "$model")"
}
rows=$out/rows.md
: > "$rows"
all_heads=$(jq '.num_attention_heads * .num_hidden_layers' "$run/model/config.json")
# The unpruned model (sparsity 0, every head).
"$fttrain" prune --model-dir "$run/model" --output-dir "$out/magnitude-0" --method magnitude --sparsity 0 \
    --eval-file "$test_file" --max-length 64 --threads "$threads" > "$out/magnitude-0.log"
r=$out/magnitude-0/pruning.json
row "unpruned" "$out/magnitude-0" "$(jq .eval_pruned.accuracy "$r")" "$(jq .eval_pruned.f1_macro "$r")" 0 "$all_heads" >> "$rows"
for s in $sparsities; do
    d=$out/magnitude-$s
    "$fttrain" prune --model-dir "$run/model" --output-dir "$d" --method magnitude --sparsity "$s" --scope global \
        --eval-file "$test_file" --max-length 64 --threads "$threads" > "$d.log"
    row "magnitude $s" "$d" "$(jq .eval_pruned.accuracy "$d/pruning.json")" "$(jq .eval_pruned.f1_macro "$d/pruning.json")" \
        "$(jq '.sparsity * 1000 | round / 1000' "$d/pruning.json")" "$all_heads" >> "$rows"
    d=$out/recovered-$s
    "$fttrain" prune --model-dir "$run/model" --output-dir "$d" --method magnitude --sparsity "$s" --scope global \
        --train-file "$run/data/train.jsonl" --config "$out/recovery.yaml" --threads "$threads" > "$d.log" 2>&1
    row "magnitude $s + recovery ($recovery_steps steps)" "$d/model" "$(jq .test_accuracy "$d/metrics.json")" "$(jq .test_f1_macro "$d/metrics.json")" \
        "$(jq '.after_recovery.sparsity * 1000 | round / 1000' "$d/pruning.json")" "$all_heads" >> "$rows"
done
for f in $fractions; do
    d=$out/heads-$f
    "$fttrain" prune --model-dir "$run/model" --output-dir "$d" --method heads --head-fraction "$f" --data-file "$importance_file" \
        --eval-file "$test_file" --max-length 64 --threads "$threads" > "$d.log"
    row "heads $f" "$d" "$(jq .eval_pruned.accuracy "$d/pruning.json")" "$(jq .eval_pruned.f1_macro "$d/pruning.json")" 0 \
        "$(jq '.heads_per_layer | add' "$d/pruning.json")" >> "$rows"
done
echo "all-MiniLM-L6-v2 on Rotten Tomatoes ($(wc -l < "$test_file") test texts); inference batch $batch x $seq, $threads threads"
echo
echo "| model | sparsity | heads | test accuracy | test macro-F1 | inference samples/s |"
echo "|---|---|---|---|---|---|"
cat "$rows"
