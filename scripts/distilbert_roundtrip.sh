#!/usr/bin/env bash
# DistilBERT interop between fttrain and PyTorch + transformers + PEFT, on a small random DistilBERT
# that transformers itself writes (vocab.txt trained on Rotten Tomatoes text), fully offline:
#   1. the base directory is made (DistilBertModel.save_pretrained + DistilBertTokenizer; weights
#      drawn with initializer_range 0.2, not 0.02, so the random encoder's output depends on the text
#      and a wrong attention mask, position or tokenisation shows in the probabilities);
#   2. fttrain fine-tunes it fully; AutoModelForSequenceClassification loads the exported model/
#      (model_type distilbert, DistilBertForSequenceClassification) with fttrain's probabilities;
#   3. fttrain trains LoRA on q_lin/v_lin; PEFT loads its adapter/ over the base and gives the
#      probabilities of `fttrain predict --adapter`;
#   4. PEFT trains LoRA on q_lin/v_lin; `fttrain predict --adapter` on it gives PEFT's probabilities.
# Probabilities must agree within 1e-5 with the same labels; in 3 and 4 the LoRA branches must also
# move PEFT's probabilities by more than 1e-4 (all B zeroed), so the agreement is not vacuous.
# Prints a PASS/FAIL line per part and "N passed, M failed"; exits 1 on any failure.
# Run by hand (needs the throw-away venv; swift test never does):
#   TORCH_VENV=/tmp/refvenv scripts/distilbert_roundtrip.sh [FTTRAIN_BINARY]
set -u
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/fttrain}"
python="${TORCH_VENV:-/tmp/refvenv}/bin/python"
check=scripts/reference/check_distilbert_peft.py
export_check=scripts/reference/check_hf_export.py
data="$PWD/.cache/data/rotten_tomatoes/rotten_tomatoes.csv"
[[ -f $data ]] || { echo "FAIL: $data missing: run scripts/fetch_assets.sh"; exit 1; }
[[ -x $binary ]] || { echo "FAIL: $binary missing: swift build"; exit 1; }
[[ -x $python ]] || { echo "FAIL: $python missing: set TORCH_VENV"; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
base="$dir/base"
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; ((failed == 0)); exit $?; }

# 200 labelled texts for training, 40 others to compare predictions on (first 300 characters), taken
# evenly over the file (so all of fresh, rotten and plot appear), as CSV, plain lines and JSON lines.
"$python" - "$data" "$dir" <<'PY' || { echo "FAIL: data"; exit 1; }
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r["text"].strip()]
picked = rows[::max(1, len(rows) // 240)][:240]
clean = lambda r: " ".join(r["text"].split())[:300]
with open(f"{sys.argv[2]}/train.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f); w.writerow(["label", "text"])
    for r in picked[:200]: w.writerow([r["category"], clean(r)])
with open(f"{sys.argv[2]}/texts.txt", "w", encoding="utf-8") as f, \
     open(f"{sys.argv[2]}/texts.jsonl", "w", encoding="utf-8") as g:
    for r in picked[200:]:
        f.write(clean(r) + "\n"); g.write(json.dumps({"text": clean(r)}) + "\n")
counts = {}
for r in picked[:200]: counts[r["category"]] = counts.get(r["category"], 0) + 1
print("data: 200 training texts (%s), 40 texts to predict" % ", ".join("%s %d" % kv for kv in sorted(counts.items())))
PY

echo "== 1. transformers writes a small random DistilBERT base"
if "$python" "$check" make-base "$data" "$base" 2>"$dir/base.err" \
    && grep -q '"model_type": "distilbert"' "$base/config.json" && [[ -f $base/model.safetensors && -f $base/vocab.txt ]]; then
    pass "base directory: $(ls "$base" | tr '\n' ' ')"
else
    cat "$dir/base.err"; fail "base directory"; finish
fi

echo "== 2. fttrain fine-tunes it fully; transformers loads the export"
part2() {
    "$binary" train --model-dir "$base" --train-file "$dir/train.csv" --output-dir "$dir/full" --split-ratios 1,0,0 \
        --max-steps 30 --per-device-train-batch-size 8 --learning-rate 1e-3 --max-length 32 --logging-steps 10 \
        > "$dir/full.log" 2>&1 || { cat "$dir/full.log"; echo "fttrain train failed"; return 1; }
    grep -E "loss|model written|trainable" "$dir/full.log" | head -8
    "$binary" predict --model-dir "$dir/full/model" --input "$dir/texts.txt" --max-length 32 \
        > "$dir/full_pred.jsonl" 2>"$dir/full_pred.err" || { cat "$dir/full_pred.err"; echo "fttrain predict failed"; return 1; }
    "$python" - "$dir/full/model/config.json" <<'PY' || return 1
import json, sys
c = json.load(open(sys.argv[1]))
print(f"export config: model_type {c.get('model_type')}, architectures {c.get('architectures')}, id2label {c.get('id2label')}")
sys.exit(0 if c.get("model_type") == "distilbert" and c.get("architectures") == ["DistilBertForSequenceClassification"] else 1)
PY
    "$python" "$export_check" "$dir/full/model" "$dir/texts.jsonl" "$dir/full_pred.jsonl" --max-length 32 --tolerance 1e-5 \
        2>"$dir/full_check.err" || { cat "$dir/full_check.err" | tail -5; return 1; }
}
if part2; then pass "full fine-tuning export loads in transformers with fttrain's probabilities"; else fail "full fine-tuning export"; fi

echo "== 3. fttrain trains LoRA (q_lin,v_lin); PEFT loads its adapter"
part3() {
    "$binary" train --model-dir "$base" --train-file "$dir/train.csv" --output-dir "$dir/lora" --split-ratios 1,0,0 \
        --peft lora --lora-target-modules q_lin,v_lin --lora-r 4 --lora-alpha 8 \
        --max-steps 30 --per-device-train-batch-size 8 --learning-rate 5e-3 --max-length 32 --logging-steps 10 \
        > "$dir/lora.log" 2>&1 || { cat "$dir/lora.log"; echo "fttrain train failed"; return 1; }
    grep -E "loss|adapter written|trainable" "$dir/lora.log" | head -8
    echo "adapter files: $(ls "$dir/lora/adapter" | tr '\n' ' ')"
    "$binary" predict --model-dir "$base" --adapter "$dir/lora/adapter" --input "$dir/texts.txt" --max-length 32 \
        > "$dir/lora_pred.jsonl" 2>"$dir/lora_pred.err" || { cat "$dir/lora_pred.err"; echo "fttrain predict failed"; return 1; }
    "$python" "$check" compare "$base" "$dir/lora/adapter" "$dir/texts.txt" "$dir/lora_pred.jsonl" --max-length 32 \
        2>"$dir/lora_check.err" || { tail -5 "$dir/lora_check.err"; return 1; }
}
if part3; then pass "fttrain's LoRA adapter gives the same probabilities under PEFT"; else fail "fttrain's LoRA adapter under PEFT"; fi

echo "== 4. PEFT trains LoRA (q_lin,v_lin); fttrain loads its adapter"
part4() {
    "$python" "$check" train "$base" "$dir/train.csv" "$dir/peft_adapter" --max-length 32 2>"$dir/peft_train.err" \
        || { tail -5 "$dir/peft_train.err"; return 1; }
    echo "adapter files: $(ls "$dir/peft_adapter" | tr '\n' ' ')"
    "$binary" predict --model-dir "$base" --adapter "$dir/peft_adapter" --input "$dir/texts.txt" --max-length 32 \
        > "$dir/peft_pred.jsonl" 2>"$dir/peft_pred.err" || { cat "$dir/peft_pred.err"; echo "fttrain predict failed"; return 1; }
    "$python" "$check" compare "$base" "$dir/peft_adapter" "$dir/texts.txt" "$dir/peft_pred.jsonl" --max-length 32 \
        2>"$dir/peft_check.err" || { tail -5 "$dir/peft_check.err"; return 1; }
}
if part4; then pass "PEFT's LoRA adapter gives the same probabilities under fttrain"; else fail "PEFT's LoRA adapter under fttrain"; fi

finish
