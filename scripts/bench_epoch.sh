#!/usr/bin/env bash
# Wall time of one training epoch on real text: the README's Rotten Tomatoes job (11k snippets of
# a sentence or two, batch 32, max_length 64, dynamic padding to each batch's longest text) with
# evaluation and checkpoints off, fttrain against Hugging Face's Trainer (DataCollatorWithPadding,
# sdpa attention) on exactly the split and settings fttrain used, same threads, in one run.
#
#   scripts/bench_epoch.sh        env THREADS (default 2), TORCH_VENV (as scripts/bench.sh)
#
# fttrain's time counts from the start of `fttrain train` (tokenising and loading included);
# PyTorch's is `trainer.train()` alone (its tokenising and loading not counted).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
threads=${THREADS:-2}
source scripts/bench_setup.sh
bench_setup bench_epoch  # sets binary, venv
out=runs/bench_epoch
rm -rf "$out"
"$binary" train --config examples/rotten_tomatoes.yaml --threads "$threads" --output-dir "$out" \
    --eval-strategy no --save-strategy no --load-best-model-at-end false >"$out.log" 2>&1 \
    || { cat "$out.log" >&2; echo "bench_epoch: fttrain train failed" >&2; exit 1; }
torch_out=$(OMP_NUM_THREADS=$threads "$venv/bin/python" scripts/reference/hf_trainer_baseline.py "$out" \
    --threads "$threads" --attn sdpa 2>&1) || { echo "$torch_out" >&2; echo "bench_epoch: PyTorch baseline failed" >&2; exit 1; }
python3 - "$out/metrics.json" "$(sed -n 's/^RESULT //p' <<<"$torch_out" | tail -1)" "$threads" <<'PY'
import json, sys
ft = json.load(open(sys.argv[1])); pt = json.loads(sys.argv[2]); threads = sys.argv[3]
print(f"one epoch of Rotten Tomatoes (batch 32, max_length 64, dynamic padding), {threads} threads")
print(f"{'':10} {'steps':>6} {'seconds':>8} {'test acc':>9} {'test macro-F1':>14}")
print(f"{'fttrain':10} {int(ft['train_steps']):6d} {ft['train_runtime']:8.1f} {ft['test_accuracy']:9.4f} {ft['test_f1_macro']:14.4f}")
print(f"{'PyTorch':10} {pt['train_steps']:6d} {pt['train_runtime']:8.1f} {pt['test_accuracy']:9.4f} {pt['test_f1_macro']:14.4f}"
      f"   (torch {pt['torch']}, HF Trainer, sdpa)")
print(f"speed-up fttrain/PyTorch: {pt['train_runtime'] / ft['train_runtime']:.2f}x")
PY
