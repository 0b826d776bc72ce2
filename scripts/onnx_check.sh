#!/usr/bin/env bash
# ONNX export against ONNX Runtime (issue 16): `fttrain export --format onnx` on
#   1. small random encoders made here — BERT with 3 labels, BERT with pruned heads, DistilBERT
#      (sinusoidal positions), a bare BERT (last_hidden_state), a BERT token classifier (per-token
#      logits) and a BERT QA model (optimum's start_logits and end_logits);
#   2. the real all-MiniLM-L6-v2 (.cache/models, scripts/fetch_assets.sh): last_hidden_state;
#   3. a MiniLM classifier fine-tuned by a short `fttrain train` run on Rotten Tomatoes: logits;
# each file passes onnx.checker (full check) with opset 17, optimum's input names and dynamic
# batch/sequence axes, and ONNX Runtime's output equals fttrain's (`fttrain encoder-outputs`)
# within 1e-4 max abs (logits, or real tokens' hidden states; padded positions within 1e-3), on
# fttrain's padded batches (sizes 5, 5, 3 of review and plot texts and text pairs from 3 to 64
# tokens) and on every text alone, unpadded. scripts/reference/onnx_check.py compares.
# Prints a PASS/FAIL line per check and "N passed, M failed"; exits 1 on any failure.
#
#   scripts/onnx_check.sh [FTTRAIN_BINARY]     (default .build/debug/fttrain; build it first)
#
# Python runs in a throw-away virtual environment from PyPI: $ONNX_VENV if set, else
# .cache/onnx-venv, created on first use (onnxruntime, onnx, numpy, safetensors; no torch).
set -u
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/fttrain}"
venv="${ONNX_VENV:-$PWD/.cache/onnx-venv}"
check=scripts/reference/onnx_check.py
minilm="$PWD/.cache/models/all-MiniLM-L6-v2"
data="$PWD/.cache/data/rotten_tomatoes/rotten_tomatoes.csv"
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; ((failed == 0)); exit $?; }
[[ -x $binary ]] || { fail "$binary missing: swift build first"; finish; }
[[ -f $minilm/model.safetensors && -f $data ]] || { fail "assets missing: run scripts/fetch_assets.sh"; finish; }
if ! "$venv/bin/python" -c "import onnxruntime, onnx, numpy, safetensors" 2>/dev/null; then
    echo "onnx_check: creating $venv (onnxruntime, onnx, numpy, safetensors)" >&2
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet onnxruntime onnx numpy safetensors; } \
        || { fail "could not create $venv from PyPI"; finish; }
fi
python="$venv/bin/python"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"

# 13 texts of 2 to 64 tokens (a few cut at --max-length 64) and 2 text pairs (token types 0 and 1),
# in an order that puts short and long texts in one padded batch; 120 labelled texts to train on.
"$python" - "$data" "$dir" <<'PY' || { fail "data"; finish; }
import csv, sys
everything = [r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r["text"].strip()]
rows = [r for r in everything if r["category"] in ("fresh", "rotten")]
plots = [r for r in everything if r["category"] == "plot"]
clean = lambda r: " ".join(r["text"].split())
texts = [clean(r) for r in rows[1000:1013]]
texts = [t[: [400, 8, 120, 30, 1][i % 5]] for i, t in enumerate(texts)]
texts[3] = "ok"
texts[0], texts[10] = clean(plots[10])[:600], clean(plots[20])[:200]  # cut at --max-length 64 / about 45 tokens
texts.insert(6, clean(rows[2000])[:80] + "\t" + clean(rows[2001])[:60])
texts.insert(11, "a great film\tnot at all")
open(f"{sys.argv[2]}/texts.txt", "w", encoding="utf-8").write("\n".join(texts) + "\n")
with open(f"{sys.argv[2]}/train.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f); w.writerow(["label", "text"])
    for r in rows[:120]: w.writerow([r["category"], clean(r)[:300]])
PY

# check NAME MODEL_DIR [EXPORT_ARGS...]: export, dump fttrain's outputs, compare.
check() {
    local name=$1 model=$2; shift 2
    local onnx="$dir/$name.onnx" outputs="$dir/$name.safetensors"
    if ! "$binary" export --format onnx --model-dir "$model" --output "$onnx" "$@" >"$dir/$name.export" 2>&1; then
        cat "$dir/$name.export"; fail "$name: fttrain export --format onnx"; return
    fi
    cat "$dir/$name.export"
    if ! "$binary" encoder-outputs --model-dir "$model" --input "$dir/texts.txt" --batch-size 5 --max-length 64 \
        --output "$outputs" "$@" >"$dir/$name.dump" 2>&1; then
        cat "$dir/$name.dump"; fail "$name: fttrain encoder-outputs"; return
    fi
    if "$python" "$check" compare "$onnx" "$outputs" --tolerance 1e-4; then
        pass "$name: onnx.checker, opset 17, names and dynamic axes; ONNX Runtime = fttrain within 1e-4"
    else
        fail "$name: ONNX Runtime against fttrain"
    fi
}

echo "== 1. small random encoders"
for kind in bert bert-pruned distilbert bert-base bert-token bert-qa; do
    if "$python" "$check" make-tiny "$kind" "$minilm/vocab.txt" "$dir/tiny-$kind"; then
        check "tiny-$kind" "$dir/tiny-$kind"
    else
        fail "tiny-$kind: could not write the model"
    fi
done

echo "== 2. all-MiniLM-L6-v2 (feature extraction)"
check minilm "$minilm"

echo "== 3. a MiniLM classifier fine-tuned by fttrain train"
if "$binary" train --model-dir "$minilm" --train-file "$dir/train.csv" --output-dir "$dir/run" --split-ratios 1,0,0 \
    --max-steps 6 --per-device-train-batch-size 8 --learning-rate 1e-4 --max-length 32 --logging-steps 3 \
    >"$dir/train.log" 2>&1; then
    check finetuned "$dir/run/model"
else
    tail -20 "$dir/train.log"; fail "fttrain train"
fi

echo "== 4. the task can be forced: the fine-tuned classifier as a feature extractor"
[[ -d $dir/run/model ]] && check finetuned-features "$dir/run/model" --task feature-extraction

finish
