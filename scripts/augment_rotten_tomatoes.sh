#!/usr/bin/env bash
# Does EDA augmentation inside `fttrain train` (the `augment:` setting) help on a small training
# set? Rotten Tomatoes snippets (fresh / rotten / plot), by hand (not CI):
#   1. a seeded stratified split (scripts/make_instruct_split.py): TRAIN training rows (default 500)
#      and TEST test rows (default 1000), the same files for both runs;
#   2. all-MiniLM-L6-v2 fine-tuned twice with the same seed and settings, once plain and once with
#      `--augment copies=C,...,synonyms=examples/synonyms_en.txt` (a hand-written list of common
#      review words; WordNet is not available offline), augmentation on the training split only;
#   3. test accuracy and macro-F1 of both, as a table (also OUT/table.md).
#
#   scripts/augment_rotten_tomatoes.sh [FTTRAIN_BINARY]     (default .build/release/fttrain)
#   env TRAIN=500 TEST=1000 EPOCHS=3 BATCH=16 LR=5e-5 MAX_LENGTH=64 COPIES=2 RATE=0.1 SEED=42
#       THREADS=2 OUT=runs/augment_rotten_tomatoes
# The augmented run takes (1 + COPIES) times the steps of the plain one (same epochs).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/release/fttrain}"
[[ -x $binary ]] || { echo "FAIL: $binary not built (swift build -c release --product fttrain)"; exit 1; }
train_n=${TRAIN:-500} test_n=${TEST:-1000} epochs=${EPOCHS:-3} batch=${BATCH:-16} lr=${LR:-5e-5}
max_length=${MAX_LENGTH:-64} copies=${COPIES:-2} rate=${RATE:-0.1} seed=${SEED:-42} threads=${THREADS:-2}
out=${OUT:-runs/augment_rotten_tomatoes}
corpus=.cache/data/rotten_tomatoes/rotten_tomatoes.csv
model=.cache/models/all-MiniLM-L6-v2
[[ -f $corpus && -d $model ]] || scripts/fetch_assets.sh >/dev/null
mkdir -p "$out"
python3 scripts/make_instruct_split.py "$corpus" "$out/data" --train "$train_n" --test "$test_n" --seed "$seed"

run() {
    local name=$1
    shift
    rm -rf "${out:?}/$name"
    local started
    started=$(date +%s)
    "$binary" train --model-dir "$model" --output-dir "$out/$name" --train-file "$out/data/train.csv" \
        --test-file "$out/data/test.csv" --text-column text --label-column label --seed "$seed" \
        --num-train-epochs "$epochs" --per-device-train-batch-size "$batch" --per-device-eval-batch-size 64 \
        --learning-rate "$lr" --warmup-ratio 0.1 --weight-decay 0.01 --max-length "$max_length" \
        --eval-strategy no --save-strategy no --logging-steps 50 --threads "$threads" "$@" \
        >"$out/$name.log" 2>&1 || { echo "augment_rotten_tomatoes: $name failed, see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; exit 1; }
    echo "$(($(date +%s) - started))" >"$out/$name.seconds"
}
run plain
run augmented --augment "copies=$copies,synonym_replacement=$rate,random_insertion=$rate,random_swap=$rate,random_deletion=$rate,synonyms=examples/synonyms_en.txt,unit=word,seed=$seed"
grep -h "augment added" "$out/augmented.log" "$out/augmented/"*.log 2>/dev/null | head -1 || true

python3 - "$out" "$train_n" "$copies" "$rate" "$(uptime)" <<'PY' | tee "$out/table.md"
import json, sys
out, train_n, copies, rate, load = sys.argv[1:6]
print(f"Rotten Tomatoes, {train_n} training rows (fresh/rotten/plot), MiniLM-L6, same seed, split and settings; "
      f"augment: {copies} EDA copies per row, each operation at rate {rate} (synonyms: examples/synonyms_en.txt)")
print()
print("| run | training rows | test accuracy | test macro-F1 | seconds |")
print("|---|---:|---:|---:|---:|")
for name in ("plain", "augmented"):
    m = json.load(open(f"{out}/{name}/metrics.json"))
    rows = int(train_n) * (1 + int(copies) if name == "augmented" else 1)
    seconds = open(f"{out}/{name}.seconds").read().strip()
    print(f"| {name} | {rows} | {m['test_accuracy']:.4f} | {m['test_f1_macro']:.4f} | {seconds} |")
print()
print(f"load: {load.strip()}")
PY
