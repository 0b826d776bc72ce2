#!/usr/bin/env bash
# A rank that dies must not leave the others hanging: start a 2-rank training job, SIGKILL rank 1
# once it is training, and require mpirun to exit non-zero within 30 s naming rank 1.
#   scripts/mpi_kill_check.sh BINARY      (called by scripts/mpi_test.sh)
set -u
cd "$(dirname "$0")/.."
binary="$1"
model=.cache/models/all-MiniLM-L6-v2
[[ -f $model/model.safetensors ]] || { echo "FAIL: $model missing: run scripts/fetch_assets.sh"; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
{
    echo "label,text"
    for i in $(seq 1 40); do echo "fresh,good movie number $i"; echo "rotten,bad movie number $i"; done
} >"$dir/data.csv"
mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1 "$binary" train --model-dir "$model" \
    --train-file "$dir/data.csv" --max-steps 100000 --per-device-train-batch-size 4 --max-length 16 \
    --output-dir "$dir/out" >"$dir/out.log" 2>&1 &
launcher=$!

# Rank 1 is the fttrain process whose environment says OMPI_COMM_WORLD_RANK=1.
victim=""
for _ in $(seq 1 120); do
    for pid in $(pgrep -f "$binary train" || true); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$pid; fi
    done
    # Wait until training has started (rank 0 logs its first steps), so the kill hits a collective.
    if [[ -n $victim ]] && grep -q "global batch" "$dir/out.log"; then break; fi
    sleep 0.5
done
[[ -n $victim ]] || { echo "FAIL: rank 1 never started"; kill "$launcher" 2>/dev/null; exit 1; }
sleep 2
kill -9 "$victim"
killed=$(date +%s)
for _ in $(seq 1 60); do
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.5
done
if kill -0 "$launcher" 2>/dev/null; then
    echo "FAIL: mpirun still running 30 s after rank 1 was killed"
    kill -9 "$launcher" 2>/dev/null
    pkill -9 -f "$binary train" 2>/dev/null
    exit 1
fi
wait "$launcher"
status=$?
elapsed=$(( $(date +%s) - killed ))
if [[ $status -eq 0 ]]; then echo "FAIL: mpirun exited 0 after a rank was killed"; exit 1; fi
grep -q "rank 1" "$dir/out.log" || { echo "FAIL: no message names rank 1:"; cat "$dir/out.log"; exit 1; }
echo "ok: rank 1 killed; mpirun exited with status $status after ${elapsed} s, naming rank 1"
