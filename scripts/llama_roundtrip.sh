#!/usr/bin/env bash
# Llama export interop between fttrain and transformers + PEFT + gguf-py, on the real SmolLM2-135M-Instruct
# (Q4_1 GGUF, de-quantised to float32 on both sides), fully offline:
#   1. fttrain trains LoRA (q_proj,v_proj, r 4) for a few steps on 8 Rotten Tomatoes chat rows from
#      the GGUF; OUT/model is a complete Hugging Face directory and OUT/adapter a PEFT CAUSAL_LM adapter;
#   2. AutoModelForCausalLM + AutoTokenizer load OUT/model: same ids, logits within 1e-4 of fttrain's;
#   3. PEFT loads OUT/adapter over transformers' model of the GGUF: logits within 2e-4 of
#      `fttrain logits --model GGUF --adapter OUT/adapter` (and the adapter moves them: not vacuous);
#   4. `fttrain export --format gguf --dtype f32` of OUT/model: gguf-py reads it, transformers loads it
#      with weights identical to OUT/model's and logits within 1e-4 of fttrain's; fttrain loads it back
#      to the same logits; merging the adapter into the GGUF base in `fttrain export --adapter` gives
#      the same model;
#   5. the same in F16: weights within half-float rounding, logits within the stated F16 tolerance of
#      the F32 model's, and transformers and fttrain agree on the F16 file within 1e-4;
#   6. PEFT trains an adapter (scripts/anchors/torch_sft.py --output); `fttrain generate --adapter` gives
#      the greedy answers transformers + PEFT give (3 prompts, 8 tokens), and `fttrain logits --adapter` PEFT's logits.
# Prints a PASS/FAIL line per check and "N passed, M failed"; exits 1 on any failure.
# Run by hand (needs the throw-away venv; swift test never does):
#   TORCH_VENV=/tmp/refvenv scripts/llama_roundtrip.sh [FTTRAIN_BINARY]
set -u
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/fttrain}"
python="${TORCH_VENV:-/tmp/refvenv}/bin/python"
check=scripts/reference/check_llama_export.py
gguf="$PWD/.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
data="$PWD/.cache/data/rotten_tomatoes/rotten_tomatoes.csv"
f16_atol="${F16_ATOL:-0.1}"
# PEFT keeps the adapter beside the weights (x W + s x A B), as fttrain does before merging: the two
# sum in different orders through 30 float32 layers, so these logits (largest ~40) get 2e-4, 5e-6 of
# the largest; the merged model in transformers keeps 1e-4.
peft_atol="${PEFT_ATOL:-2e-4}"
[[ -f $gguf ]] || { echo "FAIL: $gguf missing: run scripts/fetch_assets.sh"; exit 1; }
[[ -f $data ]] || { echo "FAIL: $data missing: run scripts/fetch_assets.sh"; exit 1; }
[[ -x $binary ]] || { echo "FAIL: $binary missing: swift build"; exit 1; }
[[ -x $python ]] || { echo "FAIL: $python missing: set TORCH_VENV"; exit 1; }
dir="${KEEP_DIR:-$(mktemp -d)}"
mkdir -p "$dir"
[[ -n ${KEEP_DIR:-} ]] || trap 'rm -rf "$dir"' EXIT
threads="${THREADS:-2}"
export OPENBLAS_NUM_THREADS=1 FTTRAIN_THREADS="$threads" OMP_NUM_THREADS="$threads" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
passed=0 failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; ((failed == 0)); exit $?; }
run() { echo "+ $*" | cut -c1-300; "$@"; }
template="Is this snippet from a fresh review, a rotten review or a plot summary? Answer fresh, rotten or plot. {text:.200}"

# 8 training rows (chat JSONL for fttrain, CSV for torch_sft.py), 2 test rows, 3 prompts to compare logits on.
"$python" - "$data" "$dir" "$template" <<'PY' || { echo "FAIL: data"; exit 1; }
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r["text"].strip()]
picked = rows[::max(1, len(rows) // 13)][:13]
template = sys.argv[3]
clean = lambda r: " ".join(r["text"].split())[:200]
with open(f"{sys.argv[2]}/train.jsonl", "w", encoding="utf-8") as j, open(f"{sys.argv[2]}/train.csv", "w", newline="", encoding="utf-8") as c:
    w = csv.writer(c); w.writerow(["text", "label"])
    for r in picked[:8]:
        j.write(json.dumps({"messages": [{"role": "user", "content": template.format(text=clean(r))},
                                         {"role": "assistant", "content": r["category"]}]}) + "\n")
        w.writerow([clean(r), r["category"]])
with open(f"{sys.argv[2]}/test.csv", "w", newline="", encoding="utf-8") as c:
    w = csv.writer(c); w.writerow(["text", "label"])
    for r in picked[8:10]: w.writerow([clean(r), r["category"]])
with open(f"{sys.argv[2]}/prompts.txt", "w", encoding="utf-8") as f:
    for r in picked[10:13]: f.write(template.format(text=clean(r)[:120]) + "\n")
print("data: 8 training rows (%s), 2 test rows, 3 prompts" % ", ".join(r["category"] for r in picked[:8]))
PY
out="$dir/run"

echo "== 1. fttrain trains LoRA from the GGUF (3 steps on 8 rows)"
start=$SECONDS
if run "$binary" train --model-dir "$gguf" --train-file "$dir/train.jsonl" --output-dir "$out" --split-ratios 1,0,0 \
    --peft lora --lora-target-modules q_proj,v_proj --lora-r 4 --lora-alpha 8 --max-steps 3 --per-device-train-batch-size 4 \
    --learning-rate 5e-3 --max-length 128 --logging-steps 1 > "$dir/train.log" 2>&1; then
    grep -E "loss|trainable|written" "$dir/train.log" | head -8
    echo "train: $((SECONDS - start)) s; model/: $(ls "$out/model" | tr '\n' ' '); adapter/: $(ls "$out/adapter" | tr '\n' ' ')"
    missing=""
    for f in config.json model.safetensors tokenizer.json tokenizer_config.json generation_config.json; do
        [[ -f $out/model/$f ]] || missing+=" $f"
    done
    grep -Eq '"task_type" ?: ?"CAUSAL_LM"' "$out/adapter/adapter_config.json" || missing+=" adapter task_type CAUSAL_LM"
    if [[ -z $missing ]]; then pass "OUT/model is a complete HF directory, OUT/adapter a CAUSAL_LM adapter"; else fail "missing:$missing"; fi
else
    tail -20 "$dir/train.log"; fail "fttrain train"; finish
fi

echo "== 2. transformers loads OUT/model"
if run "$binary" logits --model "$out/model" --input "$dir/prompts.txt" --chat --output "$dir/model_logits.safetensors" \
    && run "$python" "$check" hf "$out/model" "$dir/prompts.txt" "$dir/model_logits.safetensors" --chat --atol 1e-4 2>"$dir/hf.err"; then
    pass "AutoModelForCausalLM + AutoTokenizer on OUT/model: same ids, logits within 1e-4"
else
    tail -5 "$dir/hf.err"; fail "transformers on OUT/model"
fi

echo "== 3. PEFT loads OUT/adapter over transformers' model of the GGUF"
if run "$binary" logits --model "$gguf" --adapter "$out/adapter" --input "$dir/prompts.txt" --chat --output "$dir/adapter_logits.safetensors" \
    && run "$python" "$check" peft "$gguf" "$out/adapter" "$dir/prompts.txt" "$dir/adapter_logits.safetensors" --chat --atol "$peft_atol" 2>"$dir/peft.err"; then
    pass "PEFT over the GGUF with fttrain's adapter: logits within $peft_atol"
else
    tail -5 "$dir/peft.err"; fail "PEFT with fttrain's adapter"
fi

for dtype in f32 f16; do
    echo "== $([[ $dtype == f32 ]] && echo 4 || echo 5). fttrain export --format gguf --dtype $dtype"
    file="$out/model-$dtype.gguf"
    if [[ $dtype == f32 ]]; then atol=1e-4 weights=0; else atol=$f16_atol weights=4.9e-4; fi
    start=$SECONDS
    if run "$binary" export --model "$out/model" --format gguf --dtype $dtype --output "$file" \
        && echo "export: $((SECONDS - start)) s, $(du -m "$file" | cut -f1) MB" \
        && run "$binary" logits --model "$file" --input "$dir/prompts.txt" --chat --output "$dir/$dtype-logits.safetensors" \
        && run "$python" "$check" gguf "$file" "$out/model" "$dir/prompts.txt" "$dir/model_logits.safetensors" --chat --atol $atol \
            --weights-rtol $weights --own "$dir/$dtype-logits.safetensors" 2>"$dir/$dtype.err"; then
        pass "$dtype GGUF: gguf-py reads it, transformers loads it (weights within relative $weights, logits within $atol of OUT/model, within 1e-4 of fttrain on the file)"
    else
        tail -5 "$dir/$dtype.err"; fail "$dtype GGUF export"
    fi
done
if run "$binary" export --model "$gguf" --adapter "$out/adapter" --format gguf --dtype f32 --output "$dir/merged.gguf" \
    && run "$binary" logits --model "$dir/merged.gguf" --input "$dir/prompts.txt" --chat --output "$dir/merged_logits.safetensors" \
    && run "$python" "$check" same "$dir/merged_logits.safetensors" "$dir/model_logits.safetensors" --atol 1e-5; then
    pass "fttrain export --model GGUF --adapter OUT/adapter equals OUT/model"
else
    fail "export with --adapter"
fi

echo "== 6. PEFT trains an adapter (torch_sft.py); fttrain generates with it"
start=$SECONDS
if run "$python" scripts/anchors/torch_sft.py --model "$gguf" --train "$dir/train.csv" --test "$dir/test.csv" --template "$template" \
    --threads "$threads" --epochs 2 --batch 4 --lr 5e-3 --rank 4 --alpha 8 --targets q_proj,v_proj,up_proj --max-length 128 \
    --max-new-tokens 4 --output "$dir/peft_adapter" > "$dir/sft.log" 2>&1; then
    grep RESULT "$dir/sft.log" | cut -c1-400
    echo "torch_sft: $((SECONDS - start)) s; adapter: $(ls "$dir/peft_adapter" | tr '\n' ' ')"
    echo "+ $binary generate --model $gguf --adapter $dir/peft_adapter --chat --input $dir/prompts.txt --max-new-tokens 8"
    if "$binary" generate --model "$gguf" --adapter "$dir/peft_adapter" --chat --input "$dir/prompts.txt" --max-new-tokens 8 \
            > "$dir/fttrain_answers.jsonl" 2>"$dir/fgen.err" \
        && run "$python" "$check" generate "$gguf" "$dir/peft_adapter" "$dir/prompts.txt" "$dir/fttrain_answers.jsonl" \
            --max-new-tokens 8 2>"$dir/gen.err"; then
        grep "^prompt" "$dir/gen.err"
        pass "fttrain generate --adapter (PEFT's) gives PEFT's greedy answers"
    else
        tail -n 5 "$dir/fgen.err" "$dir/gen.err"; fail "greedy answers with PEFT's adapter"
    fi
    if run "$binary" logits --model "$gguf" --adapter "$dir/peft_adapter" --input "$dir/prompts.txt" --chat --output "$dir/peft_logits.safetensors" \
        && run "$python" "$check" peft "$gguf" "$dir/peft_adapter" "$dir/prompts.txt" "$dir/peft_logits.safetensors" --chat --atol "$peft_atol" 2>"$dir/peft2.err"; then
        pass "fttrain with PEFT's adapter: PEFT's logits within $peft_atol"
    else
        tail -5 "$dir/peft2.err"; fail "fttrain logits with PEFT's adapter"
    fi
else
    tail -20 "$dir/sft.log"; fail "torch_sft.py"
fi

finish
