#!/usr/bin/env bash
# An A/B test of two fine-tuned Rotten Tomatoes models behind `fttrain serve`, by hand (not CI):
#   scripts/ab_rotten_tomatoes.sh [OUT]   (default runs/ab_rotten_tomatoes; env STEPS=150, LORA_LR=1e-3,
#       CLIENTS=100, CONCURRENCY=4, LIMIT=<all>, THREADS=<cores>, FTTRAIN=<binary>, FTTRAIN_TRAIN=<binary
#       for training, default FTTRAIN>, REUSE=1 keeps trained models, ARMS="NAME=MODEL_DIR NAME=MODEL_DIR")
#
# 1. Trains two models of all-MiniLM-L6-v2 on examples/rotten_tomatoes.yaml's 80/10/10 split (seed
#    42, so both see the same split) for STEPS steps of 32: "full" (full fine-tuning, learning rate
#    5e-5) and "lora" (LoRA r 8, alpha 16 on query and value, learning rate LORA_LR, served as an
#    adapter over the base model), no evaluation or checkpoints during training.
#    ARMS="a=DIR b=DIR" skips training and tests two existing model directories instead (trained on
#    that same split: the test split is read from DIR/../data/test.jsonl of the first).
# 2. Serves them with one A/B route `sentiment: {ab: {ARM1: 0.5, ARM2: 0.5}, sticky_header:
#    x-client-id}` and `--ab-log OUT/ab.jsonl`.
# 3. Sends the reviews of the held-out test split (1,383; the first LIMIT) to POST /v1/predict with
#    model "sentiment", as CLIENTS clients (review i from client i % CLIENTS), CONCURRENCY at a
#    time; checks that each client stayed on one arm (x-ab-arm) and posts the true label of every
#    review to POST /v1/feedback.
# 4. Prints `fttrain ab-report --log OUT/ab.jsonl`, the server's fttrain_ab_requests_total lines,
#    and each model's offline test accuracy from its metrics.json for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out=$(mkdir -p "${1:-runs/ab_rotten_tomatoes}" && cd "${1:-runs/ab_rotten_tomatoes}" && pwd)
steps=${STEPS:-150} lora_lr=${LORA_LR:-1e-3} clients=${CLIENTS:-100} concurrency=${CONCURRENCY:-4} limit=${LIMIT:-0}
threads=${THREADS:-$(nproc)}
scripts/fetch_assets.sh >/dev/null
binary=${FTTRAIN:-}
if [ -z "$binary" ]; then
    swift build -c release --product fttrain >/dev/null
    binary=$PWD/.build/release/fttrain
fi
train_binary=${FTTRAIN_TRAIN:-$binary}
base=$PWD/.cache/models/all-MiniLM-L6-v2

train() {
    local name=$1
    shift
    if [ -n "${REUSE:-}" ] && [ -f "$out/$name/metrics.json" ]; then return 0; fi
    rm -rf "${out:?}/$name"
    "$train_binary" train --config examples/rotten_tomatoes.yaml --output-dir "$out/$name" --max-steps "$steps" \
        --eval-strategy no --save-strategy no --load-best-model-at-end false --threads "$threads" "$@" \
        >"$out/$name.log" 2>&1 || { echo "ab_rotten_tomatoes: training $name failed, see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; exit 1; }
}
started=$(date +%s)
if [ -z "${ARMS:-}" ]; then
    train full
    train lora --peft lora --lora-r 8 --lora-alpha 16 --learning-rate "$lora_lr"
    arm_a=full arm_b=lora test=$out/full/data/test.jsonl
    metrics_a=$out/full/metrics.json metrics_b=$out/lora/metrics.json
    cat >"$out/serve.yaml" <<YAML
models: {base: $base, full: $out/full/model}
adapters: {lora: {base: base, dir: $out/lora/adapter}}
YAML
else
    read -r spec_a spec_b <<<"$ARMS"
    arm_a=${spec_a%%=*} dir_a=$(cd "${spec_a#*=}" && pwd) arm_b=${spec_b%%=*} dir_b=$(cd "${spec_b#*=}" && pwd)
    test=$(dirname "$dir_a")/data/test.jsonl metrics_a=$(dirname "$dir_a")/metrics.json metrics_b=$(dirname "$dir_b")/metrics.json
    echo "models: {$arm_a: $dir_a, $arm_b: $dir_b}" >"$out/serve.yaml"
fi
cat >>"$out/serve.yaml" <<YAML
routes:
  sentiment: {ab: {$arm_a: 0.5, $arm_b: 0.5}, sticky_header: x-client-id}
max_length: 64
YAML
trained=$(date +%s)

rm -f "$out/ab.jsonl"
"$binary" serve --config "$out/serve.yaml" --port 0 --threads "$threads" --ab-log "$out/ab.jsonl" >"$out/serve.out" 2>"$out/serve.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 600); do
    url=$(sed -n 's/^fttrain serve: listening on \(http:[^ ]*\)$/\1/p' "$out/serve.out")
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { echo "ab_rotten_tomatoes: the server exited:" >&2; cat "$out/serve.err" >&2; exit 1; }
    sleep 0.2
done
[ -n "$url" ] || { echo "ab_rotten_tomatoes: the server did not start in 120 s" >&2; exit 1; }

python3 - "$url" "$test" "$clients" "$concurrency" "$limit" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, test, clients, concurrency, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [json.loads(line) for line in open(test, encoding="utf-8")]
rows = rows[:limit] if limit > 0 else rows

def post(path, body, headers=None):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, dict(response.headers), response.read()

def one(i):
    client = f"client-{i % clients}"
    status, headers, body = post("/v1/predict", {"model": "sentiment", "inputs": rows[i]["text"]}, {"x-client-id": client})
    answer = json.loads(body)
    arm = headers.get("x-ab-arm")
    assert answer["model"] == arm, (answer["model"], arm)
    status, _, _ = post("/v1/feedback", {"id": answer["id"], "label": rows[i]["label"]})
    assert status in (200, 204), status
    return client, arm

with ThreadPoolExecutor(concurrency) as pool:
    results = list(pool.map(one, range(len(rows))))
arms = {}
for client, arm in results:
    arms.setdefault(client, set()).add(arm)
moved = [c for c, a in arms.items() if len(a) > 1]
assert not moved, f"clients that changed arm: {moved}"
per_arm = {}
for client, a in arms.items():
    per_arm[next(iter(a))] = per_arm.get(next(iter(a)), 0) + 1
print(f"sent {len(rows)} test reviews from {len(arms)} clients (sticky: every client stayed on one arm; "
      f"clients per arm: {', '.join(f'{k} {v}' for k, v in sorted(per_arm.items()))}), posted {len(rows)} feedbacks")
PY

echo
"$binary" ab-report --log "$out/ab.jsonl" --route sentiment | tee "$out/report.txt"
echo
curl -fsS "$url/metrics" | grep '^fttrain_ab_requests_total' || true
kill -TERM "$server"
wait "$server" || { echo "ab_rotten_tomatoes: the server did not exit cleanly" >&2; exit 1; }
trap - EXIT
echo
python3 - "$arm_a" "$metrics_a" "$arm_b" "$metrics_b" <<'PY'
import json, sys
for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    m = json.load(open(path))
    print(f"offline test accuracy of {name} (its training run's metrics.json, whole test split): {m['test_accuracy']:.4f}")
PY
echo "training $((trained - started)) s, serving and feedback $(($(date +%s) - trained)) s (steps $steps, clients $clients)"
