#!/usr/bin/env bash
# Fault check of checkpoints and resume under real mpirun. `kill`: a 2-rank job whose rank 1 is
# SIGKILLed after the first checkpoint must exit non-zero within the time-out. `term`: mpirun and
# the ranks get SIGTERM (as Slurm sends it to every process of a job it pre-empts); both ranks must
# finish their step, write a checkpoint and stop (mpirun, which on SIGTERM kills its ranks after
# odls_base_sigkill_timeout, 1 s by default, is given 20 s; it also waits that long before it
# exits). Either way `--resume-from latest` then finishes, and its final parameters
# (model.safetensors, byte for byte) and its logged losses equal those of an uninterrupted 2-rank run. Dropout stays on: the per-rank streams are restored too.
#   scripts/mpi_resume_check.sh BINARY [kill|term]      (called by scripts/mpi_test.sh)
set -u
cd "$(dirname "$0")/.."
binary="$1"
mode="${2:-kill}"
export OPENBLAS_NUM_THREADS=1
mpirun_command=(mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1)
# Only the job that gets SIGTERM needs the longer grace: with it, mpirun also waits that long to exit.
grace=()
if [[ $mode == term ]]; then grace=(--mca odls_base_sigkill_timeout 20); fi
model="$PWD/.cache/models/all-MiniLM-L6-v2"
[[ -f $model/model.safetensors ]] || { echo "FAIL: $model missing: run scripts/fetch_assets.sh"; exit 1; }
dir="$(mktemp -d)"
launcher=""
cleanup() { [[ -n $launcher ]] && kill -9 "$launcher" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
{
    echo "label,text"
    for a in good great fine lovely superb; do for n in movie film story show; do echo "fresh,the $n was $a and I liked it"; done; done
    for a in bad awful dull boring weak; do for n in movie film story show; do echo "rotten,the $n was $a and I left early"; done; done
} >"$dir/data.csv"
common=(train --model-dir "$model" --train-file "$dir/data.csv" --max-steps 8 --per-device-train-batch-size 4
              --learning-rate 1e-4 --logging-steps 1 --seed 11 --max-length 16 --save-steps 3 --ddp-timeout 120)

"${mpirun_command[@]}" "$binary" "${common[@]}" --output-dir "$dir/whole" >"$dir/whole.log" 2>&1 \
    || { cat "$dir/whole.log"; echo "FAIL: the uninterrupted run failed"; exit 1; }

"${mpirun_command[@]}" "${grace[@]}" "$binary" "${common[@]}" --output-dir "$dir/split" >"$dir/split.log" 2>&1 &
launcher=$!
victim=""
ranks=()
for _ in $(seq 1 600); do
    if [[ -z $victim ]]; then
        ranks=()
        # This job's ranks: fttrain processes writing to this run's output directory.
        for pid in $(pgrep -f "$dir/split" || true); do
            environment="$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null)"
            grep -q "^OMPI_COMM_WORLD_RANK=" <<<"$environment" || continue
            ranks+=("$pid")
            if grep -qx "OMPI_COMM_WORLD_RANK=1" <<<"$environment"; then victim=$pid; fi
        done
    fi
    [[ -f $dir/split/checkpoint-3/DONE ]] && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.2
done
[[ -f $dir/split/checkpoint-3/DONE && -n $victim ]] || { cat "$dir/split.log"; echo "FAIL: no checkpoint-3 while the job ran"; exit 1; }
# As Slurm pre-empts a job: SIGTERM to every process of it, mpirun and the ranks.
if [[ $mode == term ]]; then kill -TERM "$launcher" "${ranks[@]}"; else kill -9 "$victim"; fi
killed=$(date +%s)
for _ in $(seq 1 120); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$launcher" 2>/dev/null; then echo "FAIL: mpirun still running 60 s after the signal"; exit 1; fi
wait "$launcher"
status=$?
launcher=""
[[ $status -ne 0 ]] || { echo "FAIL: the job exited 0 although it did not finish"; exit 1; }
if [[ $mode == term ]]; then
    stopped=$(grep -o "stopped by signal 15 after step [0-9]*" "$dir/split.log" | grep -o "[0-9]*$")
    [[ -n $stopped && -f $dir/split/checkpoint-$stopped/DONE ]] \
        || { cat "$dir/split.log"; echo "FAIL: no checkpoint written at the step SIGTERM stopped"; exit 1; }
    echo "ok: SIGTERM to mpirun and the ranks; both stopped after step $stopped with checkpoint-$stopped; mpirun exited with status $status after $(( $(date +%s) - killed )) s"
else
    echo "ok: rank 1 SIGKILLed after checkpoint-3; mpirun exited with status $status after $(( $(date +%s) - killed )) s"
fi
ls "$dir/split" | grep checkpoint | tr '\n' ' '; echo

"${mpirun_command[@]}" "$binary" "${common[@]}" --output-dir "$dir/split" --resume-from latest >"$dir/resume.log" 2>&1 \
    || { grep -v "^eval_\|^test_" "$dir/resume.log" | tail -40; ls -la "$dir/split" "$dir/split"/*; echo "FAIL: the resumed run failed"; exit 1; }
grep -o "resumed from .*" "$dir/resume.log" | head -1
cmp "$dir/whole/model/model.safetensors" "$dir/split/model/model.safetensors" \
    || { echo "FAIL: final parameters differ from the uninterrupted run's"; exit 1; }
losses() { grep '"loss"' "$1" | sed -E 's/.*"grad_norm":([^,]*).*"learning_rate":([^,]*),"loss":([^,]*),.*"step":([0-9]+).*/\4 \3 \1 \2/'; }
diff <(losses "$dir/whole/log.jsonl") <(losses "$dir/split/log.jsonl") \
    || { echo "FAIL: logged losses differ"; exit 1; }
[[ $(losses "$dir/whole/log.jsonl" | wc -l) -eq 8 ]] || { echo "FAIL: expected 8 logged steps"; exit 1; }
echo "ok: resumed run's 8 losses, grad norms, learning rates and final parameters equal the uninterrupted run's"
