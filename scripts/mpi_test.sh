#!/usr/bin/env bash
# Real-MPI checks of the distributed layer: `fttrain-dist-check --mode verify` under mpirun at
# 2, 3 and 4 ranks (ring all-reduce == MPI_Allreduce == exact sums, and every AllReducer algorithm
# == exact sums on MPI's node layout and on pretend nodes; error paths throw, never hang), dist-bench,
# plus a singleton run without mpirun and a small bench smoke run, data-parallel training, a killed
# or hung rank, checkpoint/resume faults (scripts/mpi_resume_check.sh), `tune` in groups of 2 ranks
# (scripts/mpi_tune_check.sh) and `select` (scripts/mpi_select_check.sh) on a tiny random BERT.
# MPI_Init cannot run twice in one process, so these live here rather than in `swift test`.
#
# Usage: scripts/mpi_test.sh [--release]      (env TIMEOUT=seconds per run, default 300)
set -u
cd "$(dirname "$0")/.."

configuration=debug
if [[ "${1:-}" == "--release" ]]; then configuration=release; fi
timeout_seconds="${TIMEOUT:-300}"

echo "== swift build -c $configuration"
if ! swift build -c "$configuration" --product fttrain || ! swift build -c "$configuration" --product fttrain-dist-check; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi
binary=".build/$configuration/fttrain"
dist_check=".build/$configuration/fttrain-dist-check"
export OPENBLAS_NUM_THREADS=1
mpirun_command=(mpirun --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1)

passed=0
failed=0
run() {  # run NAME COMMAND...
    local name="$1"; shift
    echo "== $name: $*"
    local log; log="$(mktemp)"
    timeout --kill-after=10 "$timeout_seconds" "$@" >"$log" 2>&1
    local status=$?
    cat "$log"
    if [[ $status -eq 0 ]] && ! grep -q '^FAIL' "$log"; then
        passed=$((passed + 1)); echo "PASS $name"
    else
        failed=$((failed + 1))
        if [[ $status -eq 124 || $status -eq 137 ]]; then echo "FAIL $name (timed out after ${timeout_seconds}s: a hang)"
        else echo "FAIL $name (exit status $status)"; fi
    fi
    rm -f "$log"
}

run "singleton (no mpirun)" env -u OMPI_COMM_WORLD_SIZE "$dist_check" --mode verify
for ranks in 2 3 4; do
    run "verify np=$ranks" "${mpirun_command[@]}" -np "$ranks" "$dist_check" --mode verify
done
run "bench smoke np=2" bash -c "${mpirun_command[*]} -np 2 $dist_check --mode bench --count 100003 --iterations 3 \
    | grep -q '\"ring_ms_median\"'"

run "dist-bench np=4 as 2 pretend nodes: fits the model, times every algorithm" bash -c "${mpirun_command[*]} -np 4 $binary dist-bench \
    --ranks-per-node 2 --sizes 4096,1048576 --iterations 2 | tee /dev/stderr | grep -q '^model error: median'"
run "dist-bench --model prints the scaling tables" bash -c "$binary dist-bench --model | grep -q '^| auto | '"
run "fttrain bench np=2 (overlapped all-reduce) prints totals" bash -c "${mpirun_command[*]} -np 2 $binary bench \
    --model-dir .cache/models/all-MiniLM-L6-v2 --mode full --batch 2 --seq 16 --steps 2 --warmup 0 --threads 1 \
    | grep '\"world\":2' | grep -q '\"allreduce_wait_share\"'"
run "data-parallel training np=2 == np=1" scripts/mpi_train_check.sh "$binary"
run "data-parallel training np=8 (oversubscribed) == np=1" env RANKS=8 scripts/mpi_train_check.sh "$binary"
run "LoRA data-parallel training np=2 == np=1" env TRAIN_FLAGS="--peft lora --lora-r 8 --learning-rate 1e-3" \
    scripts/mpi_train_check.sh "$binary"
run "Llama LoRA data-parallel training np=2 == np=1 (tiny random Llama, SFT rows)" env MODEL=llama scripts/mpi_train_check.sh "$binary"
run "a killed rank ends the job" scripts/mpi_kill_check.sh "$binary" kill
run "a hung rank ends the job after ddp_timeout" scripts/mpi_kill_check.sh "$binary" stop
run "resume after a killed rank equals an uninterrupted run" scripts/mpi_resume_check.sh "$binary" kill
run "SIGTERM checkpoints every rank; resume equals an uninterrupted run" scripts/mpi_resume_check.sh "$binary" term
run "tune --ranks-per-trial 2 on 4 ranks: two data-parallel trials at once, ASHA replayed, a trial = alone, resume" \
    scripts/mpi_tune_check.sh "$binary"
run "select np=2 == one process, byte for byte, every strategy" scripts/mpi_select_check.sh "$binary"
timeout_seconds=900 run "federated LoRA: 3 sites (one data-parallel), resume, secure aggregation" scripts/mpi_federated_check.sh "$binary"
run "federated causal LM: a tiny Llama's adapter over 3 sites (one data-parallel)" scripts/mpi_federated_llama_check.sh "$binary"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
