#!/usr/bin/env bash
# People's Daily NER (issue 22), fttrain against Hugging Face's Trainer on the same split and settings:
#   1. a seeded subset of the split fetch_assets.sh wrote (.cache/data/peoples_daily_ner), read by both sides;
#   2. fttrain train (examples/peoples_daily_ner.yaml, MiniLM) with the shared settings given explicitly;
#      the [UNK] rate of the subset from its log;
#   3. scripts/anchors/hf_token_classification.py (run_ner.py's alignment, Trainer, seqeval) in a venv
#      with torch, transformers and seqeval (TORCH_VENV, default /tmp/refvenv; seqeval installed if missing);
#   4. fttrain predict on test sentences, compared with transformers on the exported model
#      (scripts/reference/check_token_classification_export.py: same entities, scores within 1e-4);
#   5. entity F1 and wall time side by side (also OUT/table.md).
#
#   scripts/ner_peoples_daily.sh [FTTRAIN_BINARY]    (default .build/release/fttrain)
#   env TRAIN=2000 VALIDATION=200 TEST=500 (sentences; 0 = the whole split), EPOCHS=1, LR=5e-5, BATCH=32,
#       MAX_LENGTH=128, THREADS=2, OUT=runs/ner_peoples_daily, SKIP_TORCH=1, SKIP_CHECK=1.
#   EXTEND=1: first `fttrain extend-vocab` on the characters of the training split (EXTEND_CORPUS,
#       default the whole training split; MIN_COUNT=1) into OUT/extended, then both trainers start from
#       that directory; the [UNK] rate of the three splits' texts before and after, and transformers
#       loading it with fttrain's ids (scripts/reference/check_extend_vocab.py), unless SKIP_TORCH.
# The default is a short run to show the pipeline works; the full split (TRAIN=0 VALIDATION=0 TEST=0)
# is 15,588 training sentences of ~95 characters: 488 steps of 32 at 128 tokens, about 8x the default.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-.build/release/fttrain}"
[[ -x $binary ]] || { echo "FAIL: $binary not built (swift build -c release --product fttrain)"; exit 1; }
train_n=${TRAIN:-2000}
validation_n=${VALIDATION:-200}
test_n=${TEST:-500}
epochs=${EPOCHS:-1}
lr=${LR:-5e-5}
batch=${BATCH:-32}
max_length=${MAX_LENGTH:-128}
threads=${THREADS:-2}
out=${OUT:-runs/ner_peoples_daily}
model=.cache/models/all-MiniLM-L6-v2
data=.cache/data/peoples_daily_ner
for f in "$model/model.safetensors" "$data/train.jsonl" "$data/validation.jsonl" "$data/test.jsonl"; do
    [[ -f $f ]] || { echo "FAIL: $f missing: run scripts/fetch_assets.sh"; exit 1; }
done
export FTTRAIN_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
mkdir -p "$out/data"

echo "== subset: train $train_n, validation $validation_n, test $test_n sentences (0 = all; seed 42)"
python3 - "$data" "$out/data" "$train_n" "$validation_n" "$test_n" <<'PY'
import random, sys
source, target, *sizes = sys.argv[1:]
for name, n in zip(("train", "validation", "test"), map(int, sizes)):
    lines = open(f"{source}/{name}.jsonl", encoding="utf-8").read().splitlines()
    if 0 < n < len(lines):
        lines = [lines[i] for i in sorted(random.Random(42).sample(range(len(lines)), n))]
    open(f"{target}/{name}.jsonl", "w", encoding="utf-8").write("\n".join(lines) + "\n")
    print(f"{name}: {len(lines)} sentences")
PY
if [[ -n ${EXTEND:-} ]]; then
    echo "== extend-vocab on ${EXTEND_CORPUS:-$data/train.jsonl} (min count ${MIN_COUNT:-1})"
    "$binary" extend-vocab --model-dir "$model" --corpus "${EXTEND_CORPUS:-$data/train.jsonl}" --output-dir "$out/extended" \
        --min-count "${MIN_COUNT:-1}" --force | tee "$out/extend_vocab.log" || { echo "FAIL: extend-vocab"; exit 1; }
    base_model=$model
    model=$out/extended
    python3 -c '
import json, sys
for name in ("train", "validation", "test"):
    for line in open(f"{sys.argv[1]}/{name}.jsonl", encoding="utf-8"):
        print("".join(json.loads(line)["tokens"]))' "$data" >"$out/all_texts.txt"
    # The [UNK] rate of every character of the three splits (JSONL tokens: each one word, as training reads them).
    splits=("$data/train.jsonl" "$data/validation.jsonl" "$data/test.jsonl")
    "$binary" extend-vocab --model-dir "$base_model" --corpus "${splits[@]}" --dry-run >"$out/unk_before.log"
    "$binary" extend-vocab --model-dir "$model" --corpus "${splits[@]}" --dry-run >"$out/unk_after.log"
    unk_before=$(grep -oE '^before: .*' "$out/unk_before.log" | sed 's/^before: //')
    unk_after=$(grep -oE '^before: .*' "$out/unk_after.log" | sed 's/^before: //')
    echo "all three splits, characters as words: before extension $unk_before"
    echo "                                        after extension  $unk_after"
fi
seconds() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"; }

echo "== fttrain"
rm -rf "$out/fttrain"
started=$(date +%s.%N)
"$binary" train --config examples/peoples_daily_ner.yaml --model-dir "$model" --output-dir "$out/fttrain" \
    --train-file "$out/data/train.jsonl" --validation-file "$out/data/validation.jsonl" --test-file "$out/data/test.jsonl" \
    --eval-strategy no --save-strategy no --threads "$threads" --learning-rate "$lr" --num-train-epochs "$epochs" \
    --per-device-train-batch-size "$batch" --max-length "$max_length" --warmup-ratio 0.1 --weight-decay 0.01 --seed 42 \
    >"$out/fttrain_train.log" 2>&1 || { tail -20 "$out/fttrain_train.log"; echo "FAIL: fttrain train"; exit 1; }
ft_seconds=$(seconds "$started")
grep -E '\[UNK\]|sentences,' "$out/fttrain_train.log" | sed 's/^/  /' || true
read -r ft_f1 ft_p ft_r ft_acc ft_runtime < <(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(m["test_f1"], m["test_precision"], m["test_recall"], m["test_accuracy"], m.get("train_runtime", float("nan")))' "$out/fttrain/metrics.json")
unk=$(grep -oE '\[UNK\]: [0-9]+ \([0-9.]+%\)' "$out/fttrain_train.log" | head -1 || true)
echo "fttrain: test entity F1 $ft_f1 (P $ft_p, R $ft_r), token accuracy $ft_acc; $ft_seconds s"

if [[ -z ${SKIP_CHECK:-} ]]; then
    echo "== fttrain predict on 50 test sentences, against transformers on the exported model"
    python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8").read().splitlines()[:50]:
    print("".join(json.loads(line)["tokens"]))' "$out/data/test.jsonl" >"$out/texts.txt"
    "$binary" predict --model-dir "$out/fttrain/model" --input "$out/texts.txt" --max-length "$max_length" --words >"$out/entities.jsonl"
    head -2 "$out/entities.jsonl" | cut -c1-300
fi

hf_line=""
if [[ -z ${SKIP_TORCH:-} ]]; then
    venv=${TORCH_VENV:-/tmp/refvenv}
    "$venv/bin/python" -c "import seqeval" 2>/dev/null || "$venv/bin/pip" install --quiet seqeval
    if [[ -z ${SKIP_CHECK:-} ]]; then
        "$venv/bin/python" scripts/reference/check_token_classification_export.py "$out/fttrain/model" "$out/texts.txt" \
            "$out/entities.jsonl" --max-length "$max_length"
    fi
    if [[ -n ${EXTEND:-} && -z ${SKIP_CHECK:-} ]]; then
        echo "== the extended directory in transformers: ids of 2,000 texts as fttrain's, rows, [UNK]"
        head -2000 "$out/all_texts.txt" >"$out/check_texts.txt"
        "$binary" tokenize --model-dir "$model" <"$out/check_texts.txt" >"$out/check_ids.jsonl"
        "$venv/bin/python" scripts/reference/check_extend_vocab.py "$model" "$base_model" "$out/check_texts.txt" "$out/check_ids.jsonl"
    fi
    echo "== Hugging Face Trainer ($venv)"
    "$venv/bin/python" scripts/anchors/hf_token_classification.py --model "$model" --train "$out/data/train.jsonl" \
        --validation "$out/data/validation.jsonl" --test "$out/data/test.jsonl" --output "$out/hf" --lr "$lr" \
        --epochs "$epochs" --batch "$batch" --max-length "$max_length" --threads "$threads" --seed 42 \
        2>"$out/hf.err" | tee "$out/hf.out" | grep '^RESULT' || { tail -20 "$out/hf.err"; echo "FAIL: the Trainer run"; exit 1; }
    hf_line=$(grep '^RESULT ' "$out/hf.out" | tail -1)
fi

[[ -n ${EXTEND:-} ]] && unk="extended vocabulary ($(grep -oE 'added [0-9]+ vocabulary entries' "$out/extend_vocab.log")); training data $unk"
python3 - "$out/table.md" "$ft_f1" "$ft_p" "$ft_r" "$ft_acc" "$ft_seconds" "$unk" "${hf_line#RESULT }" "$train_n" "$epochs" <<'PY'
import json, sys
path, f1, p, r, acc, seconds, unk, hf, n, epochs = sys.argv[1:]
rows = [("fttrain", float(f1), float(p), float(r), float(acc), float(seconds))]
if hf:
    h = json.loads(hf)
    rows.append(("HF Trainer", h["test_f1"], h["test_precision"], h["test_recall"], h["test_accuracy"], h["wall_seconds"]))
lines = [f"People's Daily NER, MiniLM, {n if n != '0' else 'all'} training sentences, {epochs} epoch; {unk or '[UNK] rate not logged'}", "",
         "| trainer | test entity F1 | precision | recall | token accuracy | wall s |", "|---|---|---|---|---|---|"]
lines += [f"| {a} | {b:.4f} | {c:.4f} | {d:.4f} | {e:.4f} | {s:.1f} |" for a, b, c, d, e, s in rows]
open(path, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
