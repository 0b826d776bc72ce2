#!/usr/bin/env bash
# Training over every all-reduce algorithm equals one process (and so the ring) within the
# data-parallel tolerances of scripts/mpi_train_check.sh (per-step losses and grad norms within 1e-5
# relative, final parameters within rtol 1e-4 + atol 5e-6): 4 ranks x batch 2 of MiniLM against
# 1 process x batch 8, once per `ddp_allreduce_algorithm`, with FTTRAIN_RANKS_PER_NODE=2 so that
# hierarchical and auto see two pretend nodes of two ranks. Slow (a few minutes per algorithm in a
# debug build on 2 cores), so not called by scripts/test.sh. MODEL=tiny runs it on a tiny random BERT
# (scripts/make_tiny_bert.py) instead: measured 4 min 22 s for all five with a debug binary at load ~15.
#   scripts/allreduce_train_check.sh [BINARY]      (default .build/debug/fttrain; env MODEL=tiny)
set -u
cd "$(dirname "$0")/.."
binary="${1:-.build/debug/fttrain}"
[[ -x $binary ]] || { echo "FAIL: $binary is not built (swift build --product fttrain)"; exit 1; }
passed=0
failed=0
for algorithm in ring halving_doubling hierarchical mpi auto; do
    echo "== ddp_allreduce_algorithm: $algorithm (4 ranks as 2 nodes x 2)"
    if RANKS=4 TRAIN_FLAGS="--ddp-allreduce-algorithm $algorithm" \
        scripts/mpi_train_check.sh "$binary" mpirun --allow-run-as-root --oversubscribe -np 4 \
            -x OPENBLAS_NUM_THREADS=1 -x FTTRAIN_RANKS_PER_NODE=2; then
        passed=$((passed + 1)); echo "PASS $algorithm"
    else
        failed=$((failed + 1)); echo "FAIL $algorithm"
    fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
