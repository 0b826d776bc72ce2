#!/usr/bin/env bash
# `fttrain tune` on a Rotten Tomatoes subset under mpirun -np 2, by hand (not CI):
#   scripts/tune_rotten_tomatoes.sh [OUT]   (default runs/tune_rotten_tomatoes; env ROWS=1500, TRIALS=8,
#       KILL_AFTER=3 (ended trials before the kill; 0: no kill), FTTRAIN=<binary>, RANKS=2)
#
# 1. Takes ROWS snippets of the corpus (seeded sample, all 3 classes), split 80/10/10 as
#    examples/rotten_tomatoes.yaml splits (seed 42), all-MiniLM-L6-v2, batch 16 or 32, one epoch,
#    an evaluation every 15 steps, no checkpoints.
# 2. Trains the default configuration (examples/rotten_tomatoes.yaml's values) on it.
# 3. Runs a TPE study (4 random trials first) of TRIALS trials over learning rate, batch size,
#    warm-up and weight decay, ASHA with η 3 at 1, 3, 9 evaluations, two trials at once
#    (mpirun -np 2 --ranks-per-trial 1); kills it (SIGTERM to mpirun) once KILL_AFTER trials have
#    ended and runs the same command again, which must resume without repeating a trial.
# 4. Prints the study table and the best trial against the default: eval and test macro-F1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out=$(mkdir -p "${1:-runs/tune_rotten_tomatoes}" && cd "${1:-runs/tune_rotten_tomatoes}" && pwd)
rows=${ROWS:-1500} trials=${TRIALS:-8} kill_after=${KILL_AFTER:-3} ranks=${RANKS:-2}
scripts/fetch_assets.sh >/dev/null
binary=${FTTRAIN:-}
if [ -z "$binary" ]; then
    swift build -c release --product fttrain >/dev/null
    binary=$PWD/.build/release/fttrain
fi
export OPENBLAS_NUM_THREADS=1
launcher=(mpirun --allow-run-as-root --oversubscribe -np "$ranks" -x OPENBLAS_NUM_THREADS=1)

python3 - "$rows" "$out/subset.csv" <<'PY'
import csv, random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
with open(".cache/data/rotten_tomatoes/rotten_tomatoes.csv", newline="", encoding="utf-8") as f:
    data = [r for r in csv.DictReader(f) if r["text"].strip()]
random.Random(7).shuffle(data)
with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=["category", "text"], extrasaction="ignore")
    w.writeheader()
    w.writerows(data[:rows])
PY
sed -e "s#^train_file: .*#train_file: $out/subset.csv#" -e "s#^output_dir: .*#output_dir: $out/default#" \
    -e "s#^model_dir: .*#model_dir: $PWD/.cache/models/all-MiniLM-L6-v2#" \
    -e "s#^eval_steps: .*#eval_steps: 15#" -e "s#^save_strategy: .*#save_strategy: no#" \
    -e "s#^load_best_model_at_end: .*#load_best_model_at_end: false#" -e "s#^logging_steps: .*#logging_steps: 15#" \
    examples/rotten_tomatoes.yaml >"$out/base.yaml"
cat >"$out/space.yaml" <<YAML
sampler: tpe
n_startup_trials: 4
sampler_seed: 42
metric: eval_f1_macro
direction: maximize
pruner: asha
min_resource: 1
reduction_factor: 3
learning_rate: {loguniform: [1e-5, 3e-4]}
per_device_train_batch_size: {choice: [16, 32]}
warmup_ratio: {uniform: [0, 0.2]}
weight_decay: {uniform: [0, 0.1]}
YAML

started=$(date +%s)
if [ ! -f "$out/default/metrics.json" ]; then
    "$binary" train --config "$out/base.yaml" --threads "$ranks" >"$out/default.log" 2>&1
fi
default_seconds=$(($(date +%s) - started))

tune=("${launcher[@]}" "$binary" tune --config "$out/base.yaml" --space "$out/space.yaml" --trials "$trials"
      --output-dir "$out/study" --ranks-per-trial 1)
killed=""
if [ "$kill_after" -gt 0 ] && [ ! -f "$out/study/study.jsonl" ]; then
    "${tune[@]}" >"$out/tune1.log" 2>&1 &
    job=$!
    while kill -0 "$job" 2>/dev/null; do
        if [ -f "$out/study/study.jsonl" ] && [ "$(wc -l <"$out/study/study.jsonl")" -ge "$kill_after" ]; then
            kill -TERM "$job"
            killed=$(wc -l <"$out/study/study.jsonl")
            break
        fi
        sleep 1
    done
    wait "$job" || true
fi
"${tune[@]}" >"$out/tune2.log" 2>&1
finished=$(date +%s)

echo "== study ($trials trials, mpirun -np $ranks, ${killed:+killed after $killed ended trials and resumed, }$((finished - started)) s in all; default run ${default_seconds} s; load: $(uptime | sed 's/.*load average: //'))"
cat "$out/study/study.md"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
lines = [json.loads(l) for l in open(os.path.join(out, "study", "study.jsonl")) if l.strip()]
numbers = [r["trial"] for r in lines]
assert sorted(numbers) == sorted(set(numbers)), f"a trial was recorded twice: {numbers}"
default = json.load(open(os.path.join(out, "default", "metrics.json")))
done = [r for r in lines if r["state"] == "complete"]
best = max(done, key=lambda r: r["value"])
bm = json.load(open(os.path.join(out, "study", best["directory"], "metrics.json")))
print(f"pruned by ASHA: {sum(r['state'] == 'pruned' for r in lines)} of {len(lines)}")
print("| run | eval_f1_macro | test_f1_macro | test_accuracy |")
print("|---|---|---|---|")
print(f"| default (lr 5e-5, batch 32, warm-up 0.1, wd 0.01) | {default['eval_f1_macro']:.4f} | {default['test_f1_macro']:.4f} | {default['test_accuracy']:.4f} |")
p = best["params"]
desc = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in sorted(p.items()))
print(f"| best {best['directory']} ({desc}) | {bm['eval_f1_macro']:.4f} | {bm['test_f1_macro']:.4f} | {bm['test_accuracy']:.4f} |")
PY
