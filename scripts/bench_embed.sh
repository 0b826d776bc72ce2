#!/usr/bin/env bash
# Inference speed of `fttrain embed` against PyTorch (scripts/anchors/torch_bench.py --mode infer)
# on the same model, shapes and threads, in one run, printed side by side.
#
#   scripts/bench_embed.sh [--threads N] [--batch N] [--seq N] [--batches N]
#
# PyTorch runs in a throw-away virtual environment: $TORCH_VENV if set, else .cache/bench-venv,
# created on first use (scripts/bench_setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
threads=2 batch=64 seq=128 batches=8
while (($#)); do
    case "$1" in
        --threads) threads=$2; shift 2 ;;
        --batch) batch=$2; shift 2 ;;
        --seq) seq=$2; shift 2 ;;
        --batches) batches=$2; shift 2 ;;
        *) echo "bench_embed: unknown argument $1" >&2; exit 2 ;;
    esac
done
model=.cache/models/all-MiniLM-L6-v2
anchor=scripts/anchors/torch_bench.py
[ -f "$anchor" ] || { echo "bench_embed: $anchor not found" >&2; exit 1; }
source scripts/bench_setup.sh
bench_setup bench_embed  # sets binary, venv

# Random vocabulary words, long enough that every line truncates to exactly `seq` tokens.
input=$(mktemp)
trap 'rm -f "$input"' EXIT
python3 - "$model/vocab.txt" "$((batch * (batches + 1)))" "$seq" >"$input" <<'PY'
import random, sys
vocab, lines, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
words = [w.strip() for w in open(vocab, encoding="utf-8") if w.strip().isalpha() and len(w.strip()) > 3]
rng = random.Random(0)
for _ in range(lines):
    print(" ".join(rng.choice(words) for _ in range(seq + 20)))
PY

ft_json=$("$binary" embed --model-dir "$model" --max-length "$seq" --batch-size "$batch" \
    --threads "$threads" --timing <"$input" 2>&1 >/dev/null | tail -1)
ft_kb=$(/usr/bin/time -f "%M" "$binary" embed --model-dir "$model" --max-length "$seq" \
    --batch-size "$batch" --threads "$threads" <"$input" 2>&1 >/dev/null | tail -1)
pt_out=$( { /usr/bin/time -f "PEAK_KB %M" "$venv/bin/python" "$anchor" --model-dir "$model" --mode infer \
    --threads "$threads" --batch "$batch" --seq "$seq" --steps "$batches"; } 2>&1)
pt_json=$(echo "$pt_out" | sed -n 's/^RESULT //p')
pt_kb=$(echo "$pt_out" | sed -n 's/^PEAK_KB //p')

python3 - "$ft_json" "$pt_json" "$ft_kb" "$pt_kb" "$batch" "$seq" "$threads" <<'PY'
import json, sys
ft, pt = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ft_kb, pt_kb, batch, seq, threads = map(int, sys.argv[3:8])
print(f"inference, all-MiniLM-L6-v2, batch {batch} x {seq} tokens, {threads} threads "
      f"(fttrain: median of {ft['batches']} batches; PyTorch {pt['torch']} {pt['attn']}: median of {pt['steps']})")
print(f"{'':10} {'ms/batch':>10} {'samples/s':>10} {'peak MB':>9}")
print(f"{'fttrain':10} {ft['batch_ms_median']:10.0f} {ft['samples_per_s']:10.1f} {ft_kb/1024:9.0f}")
print(f"{'PyTorch':10} {pt['step_ms_median']:10.0f} {pt['samples_per_s']:10.1f} {pt_kb/1024:9.0f}")
print(f"ratio fttrain/PyTorch samples/s: {ft['samples_per_s']/pt['samples_per_s']:.2f}x; "
      f"PyTorch saw other processes at {pt.get('other_procs_cpu_share', 0):.0%} of the CPU")
PY
