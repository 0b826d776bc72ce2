#!/usr/bin/env bash
# Federated LoRA on Rotten Tomatoes against centralised LoRA with the same budget, by hand:
#   scripts/federated_rotten_tomatoes.sh [OUT]   (default runs/federated; env TRAIN=4000, ROUNDS=3, SITES=4,
#                                                 MODES="fedavg ffa svd", OPTIMIZERS=none, SERVER_LR, CENTRAL=1,
#                                                 FTTRAIN=a built binary)
# A seeded sample of TRAIN reviews is split into SITES sites by movie (`fttrain partition --by
# movie_name`: every movie's reviews at one site), 1000 other reviews are the coordinator's
# validation set. Centralised: `fttrain train` for ROUNDS epochs on all TRAIN reviews. Federated:
# ROUNDS rounds of one local epoch per site, for each aggregation mode (fedavg, ffa, svd).
# Both use LoRA r 8 on query and value, batch 32, constant learning rate 1e-3, max_length 64.
# OPTIMIZERS lists server optimisers (none fedadam fedyogi fedadagrad) run for every mode; SERVER_LR is
# their η (default 1 for none, 0.1 for the others). Prints one line per run: accuracy and macro-F1 on
# the validation set, bytes a site sent per round, the macro-F1 of every round, and (with CENTRAL=1) the
# first round whose macro-F1 is within one point of centralised LoRA's after ROUNDS epochs.
# Centralised LoRA is evaluated after every epoch (constant learning rate: epoch k is a k-epoch run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out=$(mkdir -p "${1:-runs/federated}" && cd "${1:-runs/federated}" && pwd)
train=${TRAIN:-4000} rounds=${ROUNDS:-3} sites=${SITES:-4} modes=${MODES-"fedavg ffa svd"} optimizers=${OPTIMIZERS:-none}
scripts/fetch_assets.sh >/dev/null
# FTTRAIN: an fttrain binary to use as it is (else this checkout's release build).
if [[ -n ${FTTRAIN:-} ]]; then binary=$FTTRAIN; else
    swift build -c release --product fttrain >/dev/null
    binary=$PWD/.build/release/fttrain
fi
model=$PWD/.cache/models/all-MiniLM-L6-v2
data=$PWD/.cache/data/rotten_tomatoes/rotten_tomatoes.csv
rm -rf "${out:?}"/*
python3 - "$data" "$out" "$train" <<'PY'
import csv, random, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
random.Random(0).shuffle(rows)
train, validation = rows[:int(sys.argv[3])], rows[int(sys.argv[3]):int(sys.argv[3]) + 1000]
for name, part in (("train", train), ("validation", validation)):
    with open(f"{sys.argv[2]}/{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["category", "text", "movie_name"], extrasaction="ignore")
        w.writeheader()
        w.writerows(part)
PY
"$binary" partition --input "$out/train.csv" --sites "$sites" --by movie_name --label-column category --output-dir "$out/sites" >/dev/null
for s in $(seq 1 "$sites"); do "$binary" federated-keygen --site "site-$s" --key-file "$out/site-$s.key" >"$out/site-$s.pub"; done
common() {
    cat <<EOF
model_dir: $model
validation_file: $out/validation.csv
label_column: category
peft: lora
lora_r: 8
lora_alpha: 16
learning_rate: 1.0e-3
lr_scheduler_type: constant
per_device_train_batch_size: 32
max_length: 64
skip_bad_rows: true
seed: 42
EOF
}
{ common; echo "output_dir: $out/central"; echo "train_file: $out/train.csv"; echo "num_train_epochs: $rounds";
  echo "eval_strategy: epoch"; echo "save_strategy: 'no'"; } >"$out/central.yaml"
if [[ ${CENTRAL:-1} == 1 ]]; then
    start=$(date +%s)
    OPENBLAS_NUM_THREADS=2 "$binary" train --config "$out/central.yaml" --threads 2 >"$out/central.out" 2>"$out/central.err"
    # The learning rate is constant, so epoch k of this run is a k-epoch run: one run gives every budget.
    # log.jsonl has the evaluations of epochs 1 to ROUNDS-1; the last epoch's is the final one, in central.out.
    by_epoch=$(python3 - "$out/central/log.jsonl" "$out/central.out" <<'PY'
import json, sys
evals = [r for r in map(json.loads, open(sys.argv[1])) if "eval_f1_macro" in r]
final = dict(line.split(": ") for line in open(sys.argv[2]).read().splitlines() if line.startswith("eval_"))
evals.append({key: float(final[key]) for key in ("eval_accuracy", "eval_f1_macro")})
print("accuracy by epoch " + " ".join(f"{r['eval_accuracy']:.4f}" for r in evals)
      + "; macro-F1 by epoch " + " ".join(f"{r['eval_f1_macro']:.4f}" for r in evals))
PY
)
    echo "centralised LoRA, $rounds epochs: $(grep -E '^eval_(accuracy|f1_macro):' "$out/central.out" | tr '\n' ' ')$(($(date +%s) - start)) s, $by_epoch"
fi
central_f1=$(grep -E '^eval_f1_macro:' "$out/central.out" 2>/dev/null | awk '{print $2}' || true)
for mode in $modes; do
  for optimizer in $optimizers; do
    run=$mode
    [[ $optimizer == none ]] || run=$mode-$optimizer
    { common; echo "output_dir: $out/$run"; echo "num_train_epochs: 1"
      echo "federation:"; echo "  rounds: $rounds"; echo "  labels: [fresh, rotten, plot]"; echo "  aggregation: $mode"
      echo "  min_sites: $sites"; echo "  round_deadline: 3600"; echo "  server_optimizer: $optimizer"
      [[ -z ${SERVER_LR:-} ]] || echo "  server_learning_rate: $SERVER_LR"
      echo "sites:"
      for s in $(seq 1 "$sites"); do
          echo "  - name: site-$s"; echo "    ranks: [$s]"; echo "    train_file: $out/sites/site-$s.csv"; cat "$out/site-$s.pub"
      done; } >"$out/$run.yaml"
    start=$(date +%s)
    mpirun --allow-run-as-root --oversubscribe -np $((sites + 1)) -x OPENBLAS_NUM_THREADS=1 "$binary" federated --config "$out/$run.yaml" \
        >"$out/$run.out" 2>"$out/$run.err"
    summary=$(python3 - "$out/$run/rounds.jsonl" "${central_f1:-}" <<'PY'
import json, sys
rounds = [json.loads(line) for line in open(sys.argv[1])]
f1 = [r["eval_f1_macro"] for r in rounds]
text = (f"{max(rounds[-1]['bytes_sent'].values())} bytes per site per round; accuracy by round "
        + " ".join(f"{r['eval_accuracy']:.4f}" for r in rounds) + "; macro-F1 by round " + " ".join(f"{x:.4f}" for x in f1))
if sys.argv[2]:
    reached = [i + 1 for i, x in enumerate(f1) if x >= float(sys.argv[2]) - 0.01]
    text += f"; within one point of centralised ({float(sys.argv[2]):.4f}) at round " + (str(reached[0]) if reached else f"> {len(f1)}")
print(text)
PY
)
    echo "federated $mode, server optimizer $optimizer, $rounds rounds: $(grep -E '^eval_(accuracy|f1_macro):' "$out/$run.out" | tr '\n' ' ')$(($(date +%s) - start)) s, $summary"
  done
done
