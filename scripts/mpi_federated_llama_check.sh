#!/usr/bin/env bash
# Federated causal-LM check under real mpirun (called by scripts/mpi_test.sh): a tiny random Llama
# (scripts/make_tiny_llama.py), 3 sites with their own SFT chat rows (site-1 on 2 ranks, data-parallel
# inside) + the coordinator, LoRA on the 7 projections, no federation.labels (a causal LM has none).
#  1. 3 rounds of FedAvg finish; every site reports every round and sends exactly its LoRA factors
#     (no head) plus a fixed header and signature; the global adapter's validation loss falls.
#  2. The written adapter is PEFT's CAUSAL_LM adapter and `fttrain generate --adapter` runs with it.
#  3. A config with federation.labels is refused with a message that says why.
# (FederatedCausalLMTests checks in `swift test` that the global adapter is FedAvg of the sites' own.)
#   scripts/mpi_federated_llama_check.sh BINARY
set -u
cd "$(dirname "$0")/.."
binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 scripts/make_tiny_llama.py "$dir/model" --seed 3 || { echo "FAIL: scripts/make_tiny_llama.py"; exit 1; }
cd "$dir"
rows() {  # rows FIRST LAST: chat rows whose answers are 1 to 4 words
    for i in $(seq "$1" "$2"); do
        answer=$(printf 'yes %.0s' $(seq 0 $((i % 4)))); [[ $((i % 3)) == 0 ]] || answer=${answer//yes/no}
        echo "{\"messages\": [{\"role\": \"user\", \"content\": \"Row $i: say it\"}, {\"role\": \"assistant\", \"content\": \"${answer% }\"}]}"
    done
}
rows 0 23 >site-1.jsonl; rows 24 39 >site-2.jsonl; rows 40 51 >site-3.jsonl; rows 52 63 >validation.jsonl
for s in 1 2 3; do "$binary" federated-keygen --site "site-$s" --key-file "$dir/site-$s.key" >"site-$s.pub" || exit 1; done
config() {  # config NAME [EXTRA FEDERATION LINE]
    cat <<YAML
model_dir: $dir/model
output_dir: $dir/$1
validation_file: $dir/validation.jsonl
peft: lora
lora_r: 4
lora_alpha: 8
lora_target_modules: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]
learning_rate: 2.0e-2
num_train_epochs: 1
per_device_train_batch_size: 4
max_length: 64
seed: 5
federation:
  rounds: 3
  min_sites: 3
  round_deadline: 300
${2:-}
sites:
YAML
    for s in 1 2 3; do
        echo "  - name: site-$s"
        if [[ $s == 1 ]]; then echo "    ranks: [1, 2]"; else echo "    ranks: [$((s + 1))]"; fi
        echo "    train_file: $dir/site-$s.jsonl"
        cat "site-$s.pub"
    done
}
config llama >llama.yaml
mpirun --allow-run-as-root --oversubscribe -np 5 -x OPENBLAS_NUM_THREADS=1 "$binary" federated --config llama.yaml \
    >llama.out 2>llama.err || { cat llama.err; echo "FAIL: fttrain federated on the tiny Llama"; exit 1; }
python3 - llama/rounds.jsonl llama/adapter/adapter_config.json <<'PY' || exit 1
import json, sys
rounds = [json.loads(line) for line in open(sys.argv[1])]
assert len(rounds) == 3, f"{len(rounds)} rounds"
for r in rounds:
    assert r["reported"] == ["site-1", "site-2", "site-3"], r["reported"]
# LoRA r 4 on the 7 projections of 2 layers (hidden 32, key/value 16, feed-forward 48): A r x in, B out x r.
payload = 4 * 2 * 4 * ((32 + 32) + (32 + 16) * 2 + (32 + 32) + (32 + 48) * 2 + (48 + 32))
for site in rounds[0]["bytes_sent"]:
    sizes = {r["bytes_sent"][site] for r in rounds}
    assert len(sizes) == 1, f"{site} sent different sizes: {sizes}"
    size = sizes.pop()
    assert payload < size < payload + 8192, f"{site} sent {size} bytes for a {payload}-byte adapter"
losses = [r["eval_loss"] for r in rounds]
assert losses[2] < losses[0] * 0.9, f"validation loss does not fall: {losses}"
config = json.load(open(sys.argv[2]))
assert config["task_type"] == "CAUSAL_LM", config["task_type"]
print(f"ok: 3 rounds, 3 sites (one on 2 ranks) reported each; {size} bytes a round for a {payload}-byte LoRA adapter; "
      f"eval_loss {' -> '.join(f'{x:.4f}' for x in losses)}")
PY
[[ ! -f llama/adapter/labels.json ]] || { echo "FAIL: a causal-LM adapter with a labels.json"; exit 1; }
"$binary" generate --model "$dir/model" --adapter llama/adapter --prompt "Row 7: say it" --chat --max-new-tokens 4 >generate.out 2>generate.err \
    || { cat generate.err; echo "FAIL: fttrain generate with the federated adapter"; exit 1; }
echo "ok: fttrain generate runs with the federated adapter: $(head -c 80 generate.out | tr '\n' ' ')"
config labelled "  labels: [yes, no]" >labelled.yaml
if mpirun --allow-run-as-root --oversubscribe -np 5 "$binary" federated --config labelled.yaml >labelled.out 2>labelled.err; then
    echo "FAIL: federation.labels with a causal LM was accepted"; exit 1
fi
grep -q "federation.labels is for sequence classification" labelled.err labelled.out \
    || { cat labelled.err; echo "FAIL: no clear error for federation.labels with a causal LM"; exit 1; }
echo "ok: federation.labels with a causal LM is refused: $(grep -ho 'federation.labels is for[^:]*' labelled.err labelled.out | head -1)"
echo "3 passed, 0 failed"
