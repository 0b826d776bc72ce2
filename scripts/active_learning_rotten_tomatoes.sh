#!/usr/bin/env bash
# A simulated labelling loop on Rotten Tomatoes snippets (fresh / rotten / plot) with
# `fttrain select`, by hand (not CI):
#   1. a seeded stratified split (scripts/make_instruct_split.py): a POOL of rows whose labels the
#      loop "asks for" only when a row is selected (default 3000), and TEST rows (default 1000);
#   2. round 1: the first START pool rows (default 200; the split shuffles) are labelled and
#      all-MiniLM-L6-v2 is fine-tuned on them from the base model; test accuracy is recorded;
#   3. each later round (ROUNDS in all, default 5): `fttrain select --budget ADD --strategy S`
#      (default 200) on the rest of the pool with the previous round's model (kcenter also gets
#      --labeled), the chosen rows join the labelled set with their true labels, and a new model is
#      fine-tuned from the base on the larger set (same seed, settings and epochs);
#   4. a table of test accuracy (and macro-F1) per round and strategy (also OUT/table.md).
# Round 1 is the same for every strategy (same rows, same seed): trained once and shared.
#
#   scripts/active_learning_rotten_tomatoes.sh [FTTRAIN_BINARY]     (default .build/release/fttrain)
#   env POOL=3000 TEST=1000 START=200 ADD=200 ROUNDS=5 EPOCHS=3 BATCH=16 LR=5e-5 MAX_LENGTH=64
#       SEED=42 THREADS=2 STRATEGIES="least-confidence margin entropy kcenter random"
#       OUT=runs/active_learning_rotten_tomatoes; TABLE_ONLY=1 prints the table of what has finished;
#       PARALLEL=N runs N strategies at once, each on THREADS threads (so the strategies advance
#       together and a run stopped early still has the first rounds of each: TABLE_ONLY=1);
#       REUSE_ROUND_1=1 keeps a finished OUT/round_1 (same split, seed and settings) instead of retraining it
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/release/fttrain}"
[[ -x $binary ]] || { echo "FAIL: $binary not built (swift build -c release --product fttrain)"; exit 1; }
pool_n=${POOL:-3000} test_n=${TEST:-1000} start=${START:-200} add=${ADD:-200} rounds=${ROUNDS:-5}
epochs=${EPOCHS:-3} batch=${BATCH:-16} lr=${LR:-5e-5} max_length=${MAX_LENGTH:-64} seed=${SEED:-42} threads=${THREADS:-2}
strategies=${STRATEGIES:-least-confidence margin entropy kcenter random}
parallel=${PARALLEL:-1}
[[ $parallel =~ ^[1-9][0-9]*$ ]] || { echo "FAIL: PARALLEL must be a positive integer, got '$parallel'"; exit 1; }
out=${OUT:-runs/active_learning_rotten_tomatoes}
corpus=.cache/data/rotten_tomatoes/rotten_tomatoes.csv
model=.cache/models/all-MiniLM-L6-v2
[[ -f $corpus && -d $model ]] || scripts/fetch_assets.sh >/dev/null
mkdir -p "$out"
python3 scripts/make_instruct_split.py "$corpus" "$out/data" --train "$pool_n" --test "$test_n" --seed "$seed"
# The pool with an id column; the first START rows are labelled, the rest unlabelled.
python3 - "$out/data/train.csv" "$out/data" "$start" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
for name, part in (("labelled_1.csv", rows[: int(sys.argv[3])]), ("unlabelled_1.csv", rows[int(sys.argv[3]):])):
    with open(f"{sys.argv[2]}/{name}", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label"])
        for i, r in enumerate(part):
            w.writerow([i if name.startswith("labelled") else i + int(sys.argv[3]), r["text"], r["label"]])
PY

train() {  # DIR LABELLED_CSV
    rm -rf "${1:?}"
    "$binary" train --model-dir "$model" --output-dir "$1" --train-file "$2" --test-file "$out/data/test.csv" \
        --text-column text --label-column label --seed "$seed" --num-train-epochs "$epochs" \
        --per-device-train-batch-size "$batch" --per-device-eval-batch-size 64 --learning-rate "$lr" --warmup-ratio 0.1 \
        --weight-decay 0.01 --max-length "$max_length" --eval-strategy no --save-strategy no --logging-steps 1000 \
        --threads "$threads" >"$1.log" 2>&1 || { echo "active_learning: training $1 failed, see $1.log" >&2; tail -5 "$1.log" >&2; exit 1; }
}

started=$(date +%s)
if [[ -z ${TABLE_ONLY:-} ]]; then
if [[ -n ${REUSE_ROUND_1:-} && -f $out/round_1/metrics.json ]]; then
    echo "round 1 (shared): reusing $out/round_1"
else
    train "$out/round_1" "$out/data/labelled_1.csv"
fi
echo "round 1 (shared): $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["test_accuracy"])' "$out/round_1/metrics.json")"
run_strategy() {  # STRATEGY: rounds 2..ROUNDS of one strategy
    local strategy=$1 dir round last previous labeled_flag
    dir=$out/$strategy
    mkdir -p "$dir"
    cp "$out/data/labelled_1.csv" "$dir/labelled_1.csv"
    cp "$out/data/unlabelled_1.csv" "$dir/unlabelled_1.csv"
    previous=$out/round_1
    for round in $(seq 2 "$rounds"); do
        last=$((round - 1))
        labeled_flag=()
        [[ $strategy == kcenter ]] && labeled_flag=(--labeled "$dir/labelled_$last.csv")
        "$binary" select --model-dir "$previous/model" --pool "$dir/unlabelled_$last.csv" --budget "$add" \
            --strategy "$strategy" --seed "$seed" --max-length "$max_length" --threads "$threads" "${labeled_flag[@]}" \
            --output "$dir/selected_$last.csv" >>"$dir/select.log" 2>&1 || { echo "active_learning: select failed, see $dir/select.log" >&2; tail -5 "$dir/select.log" >&2; exit 1; }
        # The chosen rows join the labelled set (their true labels were in the pool all along).
        python3 - "$dir" "$last" "$round" <<'PY'
import csv, sys
d, last, now = sys.argv[1:4]
read = lambda name: list(csv.DictReader(open(f"{d}/{name}", newline="", encoding="utf-8")))
chosen = read(f"selected_{last}.csv")
ids = {r["id"] for r in chosen}
for name, rows in ((f"labelled_{now}.csv", read(f"labelled_{last}.csv") + chosen),
                   (f"unlabelled_{now}.csv", [r for r in read(f"unlabelled_{last}.csv") if r["id"] not in ids])):
    with open(f"{d}/{name}", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label"])
        w.writerows([r["id"], r["text"], r["label"]] for r in rows)
PY
        train "$dir/round_$round" "$dir/labelled_$round.csv"
        previous=$dir/round_$round
        echo "$strategy round $round: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["test_accuracy"])' "$previous/metrics.json")"
    done
}
pids=()
failed=0
for strategy in $strategies; do
    run_strategy "$strategy" &
    pids+=($!)
    if ((${#pids[@]} >= parallel)); then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
((failed == 0)) || { echo "active_learning: a strategy failed (see above)" >&2; exit 1; }
fi
elapsed=$(($(date +%s) - started))

python3 - "$out" "$rounds" "$start" "$add" "$strategies" "$elapsed" "$(uptime)" "$pool_n" "$test_n" "$epochs" <<'PY' | tee "$out/table.md"
import json, sys
out, rounds, start, add, strategies, elapsed, load, pool_n, test_n, epochs = sys.argv[1:11]
rounds, start, add = int(rounds), int(start), int(add)
strategies = strategies.split()
def cell(strategy, r):
    try:
        m = json.load(open(f"{out}/round_1/metrics.json" if r == 1 else f"{out}/{strategy}/round_{r}/metrics.json"))
    except FileNotFoundError:
        return "-"
    return f"{m['test_accuracy']:.4f} ({m['test_f1_macro']:.4f})"
print(f"Active learning on Rotten Tomatoes (fresh/rotten/plot): pool {pool_n}, test {test_n}, MiniLM-L6 fine-tuned "
      f"from the base each round ({epochs} epochs), start {start} labelled, +{add} per round; test accuracy (macro-F1)")
print()
print("| labelled | " + " | ".join(strategies) + " |")
print("|---:|" + "---:|" * len(strategies))
for r in range(1, rounds + 1):
    cells = [cell(s, r) for s in strategies]
    print(f"| {start + (r - 1) * add} | " + " | ".join(cells) + " |")
print()
print(f"{elapsed} s in all; load: {load.strip()}")
PY
