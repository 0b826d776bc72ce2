#!/usr/bin/env bash
# Data-parallel training check: 2 ranks × batch 4 must train like 1 process × batch 8 (same samples per
# step, gradients averaged by the ring). Dropout is off so the two runs are comparable; the losses
# and grad norms of every step must agree within 1e-5 relative, the final metrics at the
# 4 printed decimals (±1 in the last) and the final parameters within rtol 1e-4 + atol 5e-6; the overlapped all-reduce
# with sparse embedding rows and the blocking dense one must give identical parameters, and the ranks' parameter checksums must agree
# after every step (ddp_parameter_check_steps 1). Uses the real model (fetched by scripts/fetch_assets.sh) and synthetic data.
# MODEL=llama: the same on a causal LM instead — a tiny random Llama (scripts/make_tiny_llama.py) with
# LoRA on its 7 projections, SFT chat rows whose answers have 1 to 5 words (so the ranks' target
# counts differ and each rank must weigh its tokens by the global count), and the adapters compared too.
# MODEL=tiny: a tiny random BERT (scripts/make_tiny_bert.py) instead of MiniLM, seconds per run with a
# debug binary (scripts/allreduce_train_check.sh passes it on).
#   scripts/mpi_train_check.sh BINARY [LAUNCHER...]
#   env RANKS (1, 2, 4 or 8; default 2): N ranks x batch 8/N; the bit-for-bit overlapped = blocking
#   comparison needs 2 ranks (more ranks sum in an order that depends on the bucket) and is skipped otherwise.
#   env TRAIN_FLAGS adds settings to every run (scripts/mpi_test.sh checks LoRA that way).
# LAUNCHER starts the 2-rank run: by default a local `mpirun -np 2`; scripts/multinode_test.sh
# passes its two-host mpirun (called by scripts/mpi_test.sh and scripts/multinode_test.sh).
set -u
cd "$(dirname "$0")/.."
binary="$1"
shift
ranks=${RANKS:-2}
[[ $ranks =~ ^(1|2|4|8)$ ]] || { echo "FAIL: RANKS must be 1, 2, 4 or 8"; exit 1; }
per_rank=$((8 / ranks))
if (($#)); then launcher=("$@"); else launcher=(mpirun --allow-run-as-root --oversubscribe -np "$ranks" -x OPENBLAS_NUM_THREADS=1); fi
export OPENBLAS_NUM_THREADS=1
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
if [[ ${MODEL:-minilm} == llama ]]; then
    model="$dir/tiny-llama"
    python3 scripts/make_tiny_llama.py "$model" --seed 3 || { echo "FAIL: scripts/make_tiny_llama.py"; exit 1; }
    for i in $(seq 0 59); do
        answer=$(printf 'yes %.0s' $(seq 0 $((i % 5)))); [[ $((i % 3)) == 0 ]] || answer=${answer//yes/no}
        echo "{\"messages\": [{\"role\": \"user\", \"content\": \"Row $i: say it\"}, {\"role\": \"assistant\", \"content\": \"${answer% }\"}]}"
    done >"$dir/data.jsonl"
    common=(train --model-dir "$model" --train-file "$dir/data.jsonl" --max-steps 4 --learning-rate 1e-2
                  --logging-steps 1 --seed 5 --max-length 64 --peft lora --lora-r 4 --lora-alpha 8 --lora-dropout 0
                  --lora-target-modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj ${TRAIN_FLAGS:-})
else
    if [[ ${MODEL:-minilm} == tiny ]]; then
        model="$dir/tiny-bert"
        python3 scripts/make_tiny_bert.py "$model" --seed 4 the was and i liked it left early a to find lost friend travels \
            good great fine lovely superb bad awful dull boring weak movie film story show man woman boy girl dog \
            city village island house || { echo "FAIL: scripts/make_tiny_bert.py"; exit 1; }
    else
        model="$PWD/.cache/models/all-MiniLM-L6-v2"
        [[ -f $model/model.safetensors ]] || { echo "FAIL: $model missing: run scripts/fetch_assets.sh"; exit 1; }
    fi
    {
        echo "label,text"
        for a in good great fine lovely superb; do for n in movie film story show; do echo "fresh,the $n was $a and I liked it"; done; done
        for a in bad awful dull boring weak; do for n in movie film story show; do echo "rotten,the $n was $a and I left early"; done; done
        for w in man woman boy girl dog; do for p in city village island house; do echo "plot,a $w travels to a $p to find a lost friend"; done; done
    } >"$dir/data.csv"
    common=(train --model-dir "$model" --train-file "$dir/data.csv" --max-steps 4 --learning-rate 1e-4
                  --logging-steps 1 --seed 5 --max-length 32 --hidden-dropout-prob 0 --attention-probs-dropout-prob 0
                  --classifier-dropout 0 ${TRAIN_FLAGS:-})
fi
"$binary" "${common[@]}" --per-device-train-batch-size 8 --output-dir "$dir/np1" >"$dir/np1.out" 2>"$dir/np1.err" \
    || { cat "$dir/np1.err"; exit 1; }
# Overlapped all-reduce in small buckets (many of them), parameters compared across ranks every step.
"${launcher[@]}" "$binary" "${common[@]}" --per-device-train-batch-size "$per_rank" --output-dir "$dir/np2" \
    --ddp-bucket-cap-mb 2 --ddp-parameter-check-steps 1 >"$dir/np2.out" 2>"$dir/np2.err" || { cat "$dir/np2.err"; exit 1; }
# The same with a dense all-reduce after backward: with 2 ranks every sum is a + b, so identical bits.
if [[ $ranks == 2 ]]; then
    "${launcher[@]}" "$binary" "${common[@]}" --per-device-train-batch-size "$per_rank" --output-dir "$dir/np2-blocking" \
        --ddp-overlap-allreduce false --ddp-sparse-embeddings false >"$dir/np2-blocking.out" 2>"$dir/np2-blocking.err" || { cat "$dir/np2-blocking.err"; exit 1; }
fi
extract() { grep '"loss"' "$1" | sed -E 's/.*"grad_norm":([^,]*).*"loss":([^,]*).*/\1 \2/'; }
paste <(extract "$dir/np1/log.jsonl") <(extract "$dir/np2/log.jsonl") | awk '
    { for (i = 1; i <= 2; i++) { a = $i; b = $(i + 2); d = a - b; if (d < 0) d = -d
        if (d > 1e-5 * (a < 0 ? -a : a) + 1e-7) { print "FAIL step " NR ": " $0; bad = 1 } } ; n++ }
    END { if (n != 4) { print "FAIL: " n " logged steps, expected 4"; bad = 1 }
          if (!bad) print "ok: 4 steps, losses and grad norms of '"$ranks"' ranks x '"$per_rank"' = 1 rank x 8"; exit bad }' || exit 1
grep -q 'parameters after step' "$dir/np2.err" && { cat "$dir/np2.err"; exit 1; }
grep -E '^(eval|test)_' "$dir/np1.out" >"$dir/np1.metrics"
grep -E '^(eval|test)_' "$dir/np2.out" >"$dir/np2.metrics"
[[ -s $dir/np1.metrics ]] || { echo "FAIL: no final metrics in the single-process output"; exit 1; }
# Equal to the printed decimals, up to one unit in the last one (a perplexity of 193.4084 vs 193.4085).
paste -d' ' "$dir/np1.metrics" "$dir/np2.metrics" | awk '
    { d = $2 - $4; if (d < 0) d = -d; m = $2 < 0 ? -$2 : $2
      if ($1 != $3 || d > 1e-4 + 1e-6 * m) { print "FAIL: final metric " $0; bad = 1 } }
    END { exit bad }' && [[ $(wc -l <"$dir/np1.metrics") == $(wc -l <"$dir/np2.metrics") ]] \
    || { diff "$dir/np1.metrics" "$dir/np2.metrics"; echo "FAIL: final metrics differ"; exit 1; }
echo "ok: final metrics equal; parameter checksums equal on all $ranks ranks after every step"
# After 4 AdamW steps the parameters agree within float tolerance (summation order differs).
"$binary" diff-weights "$dir/np2/model" "$dir/np1/model" --rtol 1e-4 --atol 5e-6 \
    || { echo "FAIL: parameters $ranks x $per_rank vs 1 x 8"; exit 1; }
echo "ok: parameters of $ranks ranks x $per_rank = 1 rank x 8 (rtol 1e-4, atol 5e-6)"
# The LoRA factors themselves: Adam divides each gradient entry by its own root mean square, so an
# entry whose gradient is tiny moves by ~lr whatever the rounding (lr 1e-2 here: atol 2e-5 at 4 or 8
# ranks, where the ring's order differs most; the merged weights above stay within 5e-6).
if [[ -d $dir/np1/adapter ]]; then
    "$binary" diff-weights "$dir/np2/adapter/adapter_model.safetensors" "$dir/np1/adapter/adapter_model.safetensors" --rtol 1e-4 --atol 2e-5 \
        || { echo "FAIL: LoRA adapters $ranks x $per_rank vs 1 x 8"; exit 1; }
    echo "ok: LoRA adapter of $ranks ranks x $per_rank = 1 rank x 8 (rtol 1e-4, atol 2e-5)"
fi
if [[ $ranks == 2 ]]; then
    "$binary" diff-weights "$dir/np2/model" "$dir/np2-blocking/model" \
        || { echo "FAIL: overlapped sparse and blocking dense all-reduce reached different parameters"; exit 1; }
    echo "ok: overlapped all-reduce with sparse embedding rows = blocking dense all-reduce, bit for bit"
fi
