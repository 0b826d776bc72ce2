#!/usr/bin/env bash
# LoRA adapters round trip between fttrain and PyTorch + PEFT, on the real all-MiniLM-L6-v2:
#   1. fttrain trains a LoRA adapter; PEFT loads fttrain's adapter/ over the base model and gives
#      the same probabilities as `fttrain predict --adapter`; transformers loads the merged model/
#      and gives them too;
#   2. PEFT trains an adapter; `fttrain predict --adapter` on it gives PEFT's probabilities.
# Run by hand (needs the throw-away venv; swift test never does):
#   TORCH_VENV=/tmp/refvenv scripts/peft_roundtrip.sh [FTTRAIN_BINARY]
set -eu
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/fttrain}"
python="${TORCH_VENV:-/tmp/refvenv}/bin/python"
check=scripts/reference/check_peft_roundtrip.py
base="$PWD/.cache/models/all-MiniLM-L6-v2"
data="$PWD/.cache/data/rotten_tomatoes/rotten_tomatoes.csv"
[[ -f $base/model.safetensors && -f $data ]] || { echo "FAIL: assets missing: run scripts/fetch_assets.sh"; exit 1; }
[[ -x $binary ]] || { echo "FAIL: $binary missing: swift build"; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"

# 96 labelled texts for training, 40 others to compare predictions on (first 300 characters).
"$python" - "$data" "$dir" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
rows = [r for r in rows if r["text"].strip()]
picked = rows[::max(1, len(rows) // 136)][:136]
with open(f"{sys.argv[2]}/train.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f); w.writerow(["label", "text"])
    for r in picked[:96]: w.writerow([r["category"], " ".join(r["text"].split())[:300]])
with open(f"{sys.argv[2]}/texts.txt", "w", encoding="utf-8") as f:
    for r in picked[96:]: f.write(" ".join(r["text"].split())[:300] + "\n")
PY

echo "== 1. fttrain trains, PEFT loads"
"$binary" train --model-dir "$base" --train-file "$dir/train.csv" --output-dir "$dir/run" --split-ratios 1,0,0 \
    --peft lora --lora-r 4 --lora-alpha 16 --lora-target-modules query,value,dense --lora-bias lora_only \
    --max-steps 12 --per-device-train-batch-size 8 --learning-rate 5e-3 --max-length 32 --logging-steps 4 \
    > "$dir/train.log" 2>&1 || { cat "$dir/train.log"; echo "FAIL: fttrain train"; exit 1; }
grep -E "trainable params|adapter written" "$dir/train.log"
"$binary" predict --model-dir "$base" --adapter "$dir/run/adapter" --input "$dir/texts.txt" --max-length 32 > "$dir/fttrain_adapter.jsonl"
"$binary" predict --model-dir "$dir/run/model" --input "$dir/texts.txt" --max-length 32 > "$dir/fttrain_merged.jsonl"
status=0
"$python" "$check" compare "$base" "$dir/run/adapter" "$dir/texts.txt" "$dir/fttrain_adapter.jsonl" 2>/dev/null || status=1
"$python" "$check" compare-merged "$dir/run/model" "$dir/texts.txt" "$dir/fttrain_merged.jsonl" 2>/dev/null || status=1

echo "== 2. PEFT trains, fttrain loads"
"$python" "$check" train "$base" "$dir/train.csv" "$dir/peft_adapter" 2>/dev/null
"$binary" predict --model-dir "$base" --adapter "$dir/peft_adapter" --input "$dir/texts.txt" --max-length 32 > "$dir/fttrain_peft.jsonl"
"$python" "$check" compare "$base" "$dir/peft_adapter" "$dir/texts.txt" "$dir/fttrain_peft.jsonl" 2>/dev/null || status=1

if ((status == 0)); then echo "PASS: adapters round-trip between fttrain and PEFT"; else echo "FAIL: see the lines above"; fi
exit $status
