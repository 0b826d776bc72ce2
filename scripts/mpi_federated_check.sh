#!/usr/bin/env bash
# Federated check under real mpirun (called by scripts/mpi_test.sh): 3 sites (one of them 2 ranks,
# data-parallel inside) + the coordinator on the real model and synthetic data partitioned with
# `fttrain partition`, keys from `fttrain federated-keygen`.
#  1. 2 rounds of FedAvg finish; rounds.jsonl has a line per round with every site reporting and
#     the bytes each sent equal to its adapter message, the same every round; metrics.json and
#     adapter/ are written.
#  2. A federation stopped after its first round and resumed with --resume ends with the very adapter of
#     the uninterrupted run (byte for byte).
#  3. Secure aggregation reaches the plain run's metrics.
#   scripts/mpi_federated_check.sh BINARY
set -u
cd "$(dirname "$0")/.."
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
model="$PWD/.cache/models/all-MiniLM-L6-v2"
[[ -f $model/model.safetensors ]] || { echo "FAIL: $model missing: run scripts/fetch_assets.sh"; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cd "$dir"
{
    echo "label,text"
    for a in good great fine lovely superb; do for n in movie film story show; do echo "fresh,the $n was $a and I liked it"; done; done
    for a in bad awful dull boring weak; do for n in movie film story show; do echo "rotten,the $n was $a and I left early"; done; done
    for w in man woman boy girl dog; do for p in city village island house; do echo "plot,a $w travels to a $p to find a lost friend"; done; done
} >data.csv
"$binary" partition --input data.csv --sites 3 --dirichlet 1.0 --output-dir sites --seed 3 >/dev/null || { echo "FAIL: partition"; exit 1; }
for s in 1 2 3; do "$binary" federated-keygen --site "site-$s" --key-file "$dir/site-$s.key" >"site-$s.pub" || exit 1; done
config() {  # config NAME ROUNDS [SECURE]
    cat <<EOF
model_dir: $model
output_dir: $dir/$1
validation_file: $dir/data.csv
peft: lora
lora_r: 4
learning_rate: 1.0e-3
num_train_epochs: 1
per_device_train_batch_size: 8
max_length: 32
seed: 5
federation:
  rounds: $2
  labels: [fresh, rotten, plot]
  min_sites: 2
  round_deadline: 300
  secure_aggregation: ${3:-false}
sites:
EOF
    for s in 1 2 3; do
        echo "  - name: site-$s"
        if [[ $s == 1 ]]; then echo "    ranks: [1, 2]"; else echo "    ranks: [$((s + 1))]"; fi
        echo "    train_file: $dir/sites/site-$s.csv"
        cat "site-$s.pub"
    done
}
run() {  # run CONFIG [--resume]
    mpirun --allow-run-as-root --oversubscribe -np 5 -x OPENBLAS_NUM_THREADS=1 "$binary" federated --config "$@" \
        >"$1.out" 2>"$1.err" || { cat "$1.err"; echo "FAIL: fttrain federated --config $*"; exit 1; }
}
config whole 2 >whole.yaml && run whole.yaml
lines=$(wc -l <whole/rounds.jsonl)
[[ $lines == 2 ]] || { echo "FAIL: $lines lines in rounds.jsonl, expected 2"; exit 1; }
python3 - whole/rounds.jsonl <<'PY' || exit 1
import json, sys
rounds = [json.loads(line) for line in open(sys.argv[1])]
for r in rounds:
    assert r["reported"] == ["site-1", "site-2", "site-3"], r["reported"]
    assert "eval_f1_macro" in r, r.keys()
sent = {site: {r["bytes_sent"][site] for r in rounds} for site in rounds[0]["bytes_sent"]}
# LoRA r 4 on query and value of 6 layers (A 4x384 + B 384x4 each) and the 3-class head.
payload = 4 * (6 * 2 * (4 * 384 + 384 * 4) + 3 * 384 + 3)
for site, values in sent.items():
    assert len(values) == 1, f"{site} sent different sizes: {values}"
    size = values.pop()
    assert payload < size < payload + 8192, f"{site} sent {size} bytes for a {payload}-byte adapter"
print(f"ok: {len(rounds)} rounds, every site reported; each sent {size} bytes a round (adapter tensors {payload} + header and signature)")
PY
[[ -f whole/metrics.json && -f whole/adapter/adapter_model.safetensors ]] || { echo "FAIL: metrics.json or adapter/ missing"; exit 1; }
python3 - whole <<'PY' || exit 1
import json, sys
out = sys.argv[1]
record = json.load(open(f"{out}/adapter/lineage.json"))
assert record == json.load(open(f"{out}/lineage.json")), "adapter/lineage.json differs from the run's"
assert record["format"] == "fttrain-lineage/1" and record["command"] == "federated", record
assert record["metrics"] == json.load(open(f"{out}/metrics.json")), "lineage metrics differ from metrics.json"
assert [i["role"] for i in record["inputs"]][0] == "config" and record["base_model"]["sha256"], record
print("ok: lineage.json (command federated) in output_dir and adapter/, metrics equal to metrics.json")
PY

config split 1 >split.yaml && run split.yaml
config split 2 >split.yaml && run split.yaml --resume
grep -q "resuming after round 0" split.yaml.err || { cat split.yaml.err; echo "FAIL: the resumed run did not continue after its first round"; exit 1; }
[[ $(wc -l <split/rounds.jsonl) == 2 ]] || { echo "FAIL: the resumed federation has $(wc -l <split/rounds.jsonl) rounds"; exit 1; }
cmp whole/adapter/adapter_model.safetensors split/adapter/adapter_model.safetensors \
    || { echo "FAIL: the resumed federation's adapter differs from the uninterrupted one's"; exit 1; }
echo "ok: stopped after round 1 and resumed, the global adapter equals the uninterrupted run's byte for byte"

config secure 2 true >secure.yaml && run secure.yaml
python3 - whole/metrics.json secure/metrics.json <<'PY' || exit 1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert abs(a["eval_loss"] - b["eval_loss"]) < 1e-3, (a["eval_loss"], b["eval_loss"])
assert abs(a["eval_accuracy"] - b["eval_accuracy"]) < 0.02, (a["eval_accuracy"], b["eval_accuracy"])
print(f"ok: secure aggregation: eval_loss {b['eval_loss']:.5f} vs plain {a['eval_loss']:.5f}")
PY
echo "3 passed, 0 failed"
