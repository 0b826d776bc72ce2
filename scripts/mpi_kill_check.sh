#!/usr/bin/env bash
# A rank that dies or stops answering must not leave the others hanging: start a 2-rank training
# job, then SIGKILL rank 1 (it dies: Open MPI notices) or SIGSTOP it (it hangs: rank 0's collective
# times out after ddp_timeout), and require mpirun to exit non-zero within 30 s, naming rank 1.
#   scripts/mpi_kill_check.sh BINARY [kill|stop]      (called by scripts/mpi_test.sh)
set -u
cd "$(dirname "$0")/.."
binary="$1"
mode="${2:-kill}"
ddp_timeout=10
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
    --ddp-timeout "$ddp_timeout" --output-dir "$dir/out" >"$dir/out.log" 2>&1 &
launcher=$!

# Rank 1 is the fttrain process whose environment says OMPI_COMM_WORLD_RANK=1.
victim=""
for _ in $(seq 1 120); do
    # Matched by this run's own output directory, never by the binary name: other jobs may be training.
    for pid in $(pgrep -f -- "--output-dir $dir/out" || true); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$pid; fi
    done
    # Wait until training has started (rank 0 logs its first steps), so the kill hits a collective.
    if [[ -n $victim ]] && grep -q "global batch" "$dir/out.log"; then break; fi
    sleep 0.5
done
[[ -n $victim ]] || { echo "FAIL: rank 1 never started"; kill "$launcher" 2>/dev/null; exit 1; }
sleep 2
if [[ $mode == stop ]]; then kill -STOP "$victim"; else kill -9 "$victim"; fi
killed=$(date +%s)
for _ in $(seq 1 $(( (ddp_timeout + 30) * 2 ))); do
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.5
done
if kill -0 "$launcher" 2>/dev/null; then
    echo "FAIL: mpirun still running $((ddp_timeout + 30)) s after rank 1 was sent SIG${mode^^}"
    kill -9 "$launcher" 2>/dev/null
    pkill -9 -f -- "--output-dir $dir/out" 2>/dev/null
    exit 1
fi
wait "$launcher"
status=$?
kill -9 "$victim" 2>/dev/null  # a stopped rank may outlive the job
elapsed=$(( $(date +%s) - killed ))
if [[ $status -eq 0 ]]; then echo "FAIL: mpirun exited 0 after a rank was killed"; exit 1; fi
# Killed: Open MPI reports "process rank 1 ... exited on signal 9"; stopped: rank 0's time-out says
# "rank 1 did not answer within 10 s".
if [[ $mode == stop ]]; then expected="rank 1 did not answer"; else expected="rank 1"; fi
grep -q "$expected" "$dir/out.log" || { echo "FAIL: no message says \"$expected\":"; cat "$dir/out.log"; exit 1; }
echo "ok: rank 1 sent SIG${mode^^}; mpirun exited with status $status after ${elapsed} s, naming rank 1"
