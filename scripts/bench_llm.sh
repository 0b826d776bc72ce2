#!/usr/bin/env bash
# fttrain against transformers + PEFT (scripts/anchors/torch_llm_bench.py) on SmolLM2-135M-Instruct
# (the GGUF of scripts/fetch_assets.sh, de-quantised to float32 by both), in one run, same shapes and
# threads: random token ids, every position attended.
#
#   scripts/bench_llm.sh   rows: LoRA training step (r 8 on q/k/v/o/gate/up/down, batch 4 x 256 tokens,
#                          2 threads), tokens/s; greedy generation from a 128-token prompt, 64 new
#                          tokens, 2 threads: prefill tokens/s and decode tokens/s; peak memory of each.
#   env STEPS (timed steps, default 5), WARMUP (default 2), THREADS (default 2).
#
# PyTorch runs in the throw-away environment of scripts/bench_setup.sh. The machine is shared:
# run it when nothing else is, and read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
steps=${STEPS:-5} warmup=${WARMUP:-2} threads=${THREADS:-2}
model=$PWD/.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf
anchor=scripts/anchors/torch_llm_bench.py
source scripts/bench_setup.sh
bench_setup bench_llm  # sets binary, venv
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# One measurement: NAME SIDE COMMAND... → a line "NAME SIDE PEAK_KB JSON" in $results.
measure() {
    local name=$1 side=$2; shift 2
    local out
    out=$( { /usr/bin/time -f "PEAK_KB %M" "$@"; } 2>&1) || { echo "$out" >&2; echo "bench_llm: $name/$side failed" >&2; exit 1; }
    local json; json=$(sed -n 's/^RESULT //p; /^{/p' <<<"$out" | tail -1)
    echo "$name $side $(sed -n 's/^PEAK_KB //p' <<<"$out" | tail -1) $json" >>"$results"
}
common=(--threads "$threads" --steps "$steps" --warmup "$warmup")
measure lora fttrain "$binary" bench --model-dir "$model" --mode lora --batch 4 --seq 256 "${common[@]}"
measure lora torch env OMP_NUM_THREADS="$threads" "$venv/bin/python" "$anchor" --model "$model" --mode lora --batch 4 --seq 256 "${common[@]}"
measure generate fttrain "$binary" bench --model-dir "$model" --mode generate --prompt-tokens 128 --new-tokens 64 "${common[@]}"
measure generate torch env OMP_NUM_THREADS="$threads" "$venv/bin/python" "$anchor" --model "$model" --mode generate --prompt-tokens 128 --new-tokens 64 "${common[@]}"

python3 - "$results" "$steps" "$threads" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    name, side, peak_kb, payload = line.split(" ", 3)
    rows.setdefault(name, {})[side] = (json.loads(payload), int(peak_kb) * 1024 / 1e6)
print(f"SmolLM2-135M-Instruct (float32), {sys.argv[3]} threads, median of {sys.argv[2]} steps")
print(f"{'row':46} {'fttrain':>9} {'torch':>9} {'ratio':>6} {'ft MB':>7} {'torch MB':>8}")
def row(label, name, key):
    (ft, ft_mb), (pt, pt_mb) = rows[name]["fttrain"], rows[name]["torch"]
    print(f"{label:46} {ft[key]:9.1f} {pt[key]:9.1f} {ft[key] / pt[key]:5.2f}x {ft_mb:7.0f} {pt_mb:8.0f}")
row("LoRA training, 4 x 256 tokens, tokens/s", "lora", "tokens_per_s")
row("generation: prefill of 128 tokens, tokens/s", "generate", "prefill_tokens_per_s")
row("generation: decode, tokens/s (64 new tokens)", "generate", "decode_tokens_per_s")
PY
