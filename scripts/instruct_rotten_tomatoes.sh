#!/usr/bin/env bash
# Instruction tuning on real data, fttrain against transformers + PEFT (issue 15): Rotten Tomatoes
# snippets as chat prompts ("fresh, rotten or plot?"), the label as the answer.
#   1. a seeded stratified split (scripts/make_instruct_split.py), read by both sides;
#   2. fttrain zero-shot: greedy answers of SmolLM2-135M-Instruct (`fttrain generate --chat --input`)
#      to every test prompt, scored by exact match after SQuAD's normalisation (as torch_sft.py);
#   3. fttrain LoRA SFT (`fttrain train`, the settings of examples/smollm2_rotten_tomatoes_sft.yaml =
#      those of torch_sft.py: r 8, alpha 16, the 7 projections, lr 2e-4 linear, batch 8, 1 epoch,
#      loss on the answer tokens) and the tuned adapter scored the same way (`generate --adapter`);
#   4. scripts/anchors/torch_sft.py on the same files, template, settings and threads;
#   5. a side-by-side table (also written to OUT/table.md).
#
#   scripts/instruct_rotten_tomatoes.sh [FTTRAIN_BINARY]     (default .build/release/fttrain)
#   env TRAIN=800 TEST=200 (split sizes), THREADS=2, OUT=runs/instruct_rotten_tomatoes,
#       TORCH_VENV (default: the venv of scripts/bench_setup.sh, else /tmp/refvenv), SKIP_TORCH=1,
#       TORCH_RESULT=FILE (reuse a torch_sft.py RESULT line instead of running it).
# The settings both sides get, from one place: LR=2e-4 EPOCHS=1 BATCH=8 MAX_LENGTH=256 LORA_R=8
# LORA_ALPHA=16 NEW_TOKENS=4 (greedy), LoRA on q,k,v,o,gate,up,down_proj, dropout 0, no warmup,
# linear decay, weight decay 0, gradient clipping 1.0 (both defaults), seed 42.
# Needs scripts/fetch_assets.sh (the GGUF and the corpus); Python 3 for the split and the scoring
# (standard library), the venv only for the PyTorch side. Both sides run in this one script run, so
# load from other processes on the machine hits both.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/release/fttrain}"
[[ -x $binary ]] || { echo "FAIL: $binary not built (swift build -c release --product fttrain)"; exit 1; }
train_n=${TRAIN:-800}
test_n=${TEST:-200}
threads=${THREADS:-2}
out=${OUT:-runs/instruct_rotten_tomatoes}
lr=${LR:-2e-4}
epochs=${EPOCHS:-1}
batch=${BATCH:-8}
max_length=${MAX_LENGTH:-256}
lora_r=${LORA_R:-8}
lora_alpha=${LORA_ALPHA:-16}
new_tokens=${NEW_TOKENS:-4}
targets=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj
model=.cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf
corpus=.cache/data/rotten_tomatoes/rotten_tomatoes.csv
for f in "$model" "$corpus"; do [[ -f $f ]] || { echo "FAIL: $f missing: run scripts/fetch_assets.sh"; exit 1; }; done
# The user turn, as in examples/smollm2_rotten_tomatoes_sft.yaml (a real newline after the snippet).
template=$'Review: {text}\nIs this review fresh, rotten or plot? Answer with one word.'
export FTTRAIN_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
mkdir -p "$out"

echo "== split: $train_n train, $test_n test"
python3 scripts/make_instruct_split.py "$corpus" "$out/data" --train "$train_n" --test "$test_n"
python3 - "$out/data/test.csv" "$out/prompts.jsonl" "$template" <<'PY'
import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
    for row in csv.DictReader(f):
        out.write(json.dumps({"prompt": sys.argv[3].format(text=row["text"])}) + "\n")
PY

score() {  # score GENERATIONS.jsonl: exact match after SQuAD's normalisation, as torch_sft.py
    python3 - "$out/data/test.csv" "$1" <<'PY'
import csv, json, re, string, sys
def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())
labels = [r["label"] for r in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8"))]
answers = [json.loads(line)["generated"] for line in open(sys.argv[2], encoding="utf-8")]
assert len(answers) == len(labels), (len(answers), len(labels))
print(sum(normalize_answer(a) == normalize_answer(l) for a, l in zip(answers, labels)) / len(labels))
PY
}
seconds() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"; }
generate() {  # generate OUTPUT [--adapter DIR]
    "$binary" generate --model "$model" --chat --input "$out/prompts.jsonl" --max-new-tokens "$new_tokens" --threads "$threads" "${@:2}" >"$1"
}

echo "== fttrain zero-shot"
started=$(date +%s.%N)
generate "$out/fttrain_zero_shot.jsonl"
ft_zero_seconds=$(seconds "$started")
ft_zero=$(score "$out/fttrain_zero_shot.jsonl")
echo "zero-shot exact match $ft_zero in $ft_zero_seconds s"

echo "== fttrain LoRA SFT"
rm -rf "$out/fttrain"
started=$(date +%s.%N)
# The example's settings, with the shared ones given explicitly; no test_file (the tuned adapter is
# scored by `generate` below, as the zero-shot model), so train_file is the whole training split.
"$binary" train --config examples/smollm2_rotten_tomatoes_sft.yaml --model-dir "$model" --output-dir "$out/fttrain" \
    --train-file "$out/data/train.csv" --validation-file null --test-file null --split-ratios 1,0,0 \
    --eval-strategy no --save-strategy no --predict-with-generate false --threads "$threads" \
    --learning-rate "$lr" --num-train-epochs "$epochs" --per-device-train-batch-size "$batch" --max-length "$max_length" \
    --lora-r "$lora_r" --lora-alpha "$lora_alpha" --lora-dropout 0 --lora-target-modules "$targets" \
    --lr-scheduler-type linear --warmup-ratio 0 --warmup-steps 0 --weight-decay 0 --seed 42 \
    2>&1 | tee "$out/fttrain_train.log" | grep -E '^(trained|train_|model:)' || true
[[ -f $out/fttrain/adapter/adapter_model.safetensors ]] || { echo "FAIL: fttrain train wrote no adapter (see $out/fttrain_train.log)"; exit 1; }
ft_run_seconds=$(seconds "$started")
# train_runtime: from the start of the run (model load and tokenization included) to the last step.
read -r ft_loss ft_train_seconds < <(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(m["train_loss"], m["train_runtime"])' "$out/fttrain/metrics.json")
echo "== fttrain tuned"
started=$(date +%s.%N)
generate "$out/fttrain_tuned.jsonl" --adapter "$out/fttrain/adapter"
ft_tuned_seconds=$(seconds "$started")
ft_tuned=$(score "$out/fttrain_tuned.jsonl")
echo "tuned exact match $ft_tuned in $ft_tuned_seconds s"

torch_line=""
if [[ -n ${TORCH_RESULT:-} ]]; then
    torch_line=$(grep '^RESULT ' "$TORCH_RESULT" | tail -1)
elif [[ -z ${SKIP_TORCH:-} ]]; then
    venv=${TORCH_VENV:-}
    [[ -n $venv ]] || { [[ -x .cache/bench-venv/bin/python ]] && venv=.cache/bench-venv || venv=/tmp/refvenv; }
    echo "== transformers + PEFT ($venv)"
    "$venv/bin/python" scripts/anchors/torch_sft.py --model "$model" --train "$out/data/train.csv" --test "$out/data/test.csv" \
        --template "$template" --threads "$threads" --output "$out/torch_adapter" \
        --lr "$lr" --epochs "$epochs" --batch "$batch" --max-length "$max_length" --rank "$lora_r" --alpha "$lora_alpha" \
        --targets "$targets" --max-new-tokens "$new_tokens" --warmup-ratio 0 --seed 42 2>"$out/torch.err" | tee "$out/torch.out"
    torch_line=$(grep '^RESULT ' "$out/torch.out" | tail -1)
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$torch_line" "$commit" "$out/data" "$threads" <<PY | tee "$out/table.md"
import csv, json, sys
line, commit, data, threads = sys.argv[1:]
n_train, n_test = (sum(1 for _ in csv.DictReader(open(f"{data}/{n}.csv", newline="", encoding="utf-8"))) for n in ("train", "test"))
ft = dict(zero=$ft_zero, tuned=$ft_tuned, loss=$ft_loss, train=$ft_train_seconds, zero_s=$ft_zero_seconds, tuned_s=$ft_tuned_seconds)
torch = json.loads(line.split(" ", 1)[1]) if line else None
# Training tokens (prompt + answer ids of every training row, no padding): the same rows give both
# sides the same ids (SFTTokenParityTests), so the PyTorch side's count serves for both.
tokens = torch["train_tokens_per_s"] * torch["train_seconds"] if torch else 0
rows = [("zero-shot accuracy (test)", f"{ft['zero']:.3f}", torch and f"{torch['zero_shot_accuracy']:.3f}"),
        ("tuned accuracy (test)", f"{ft['tuned']:.3f}", torch and f"{torch['tuned_accuracy']:.3f}"),
        ("train loss (mean)", f"{ft['loss']:.4f}", torch and f"{torch['train_loss']:.4f}"),
        ("train wall time, s (fttrain: with model load)", f"{ft['train']:.1f}", torch and f"{torch['train_seconds']:.1f}"),
        ("train tokens/s", f"{tokens / ft['train']:.0f}" if tokens else "?", torch and f"{torch['train_tokens_per_s']:.0f}"),
        ("zero-shot eval time, s", f"{ft['zero_s']:.1f}", torch and f"{torch['zero_shot_eval_seconds']:.1f}"),
        ("tuned eval time, s", f"{ft['tuned_s']:.1f}", torch and f"{torch['tuned_eval_seconds']:.1f}")]
print(f"SmolLM2-135M-Instruct (Q4_1 GGUF, de-quantised to float32), LoRA r $lora_r alpha $lora_alpha on 7 projections, "
      f"{n_train} train / {n_test} test rows, lr $lr, $epochs epoch, batch $batch, max length $max_length, "
      f"greedy, $new_tokens new tokens, {threads} threads; fttrain {commit}"
      + (f", torch {torch['torch']}" if torch else "") + "\n")
print("| | fttrain | transformers + PEFT |")
print("|---|---|---|")
for name, a, b in rows:
    print(f"| {name} | {a} | {b or 'not run'} |")
PY
