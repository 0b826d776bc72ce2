#!/usr/bin/env bash
# Fault check of checkpoints and resume under real mpirun: a 2-rank job whose rank 1 is SIGKILLed
# after the first checkpoint must exit non-zero within the time-out; `--resume-from latest` then
# finishes, and its final parameters (model.safetensors, byte for byte) and its logged losses equal
# those of an uninterrupted 2-rank run. Dropout stays on: the per-rank streams are restored too.
#   scripts/mpi_resume_check.sh BINARY      (called by scripts/mpi_test.sh)
set -u
cd "$(dirname "$0")/.."
binary="$1"
export OPENBLAS_NUM_THREADS=1
mpirun_command=(mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1)
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
              --learning-rate 1e-4 --logging-steps 1 --seed 11 --max-length 16 --save-steps 3 --ddp-timeout 20)

"${mpirun_command[@]}" "$binary" "${common[@]}" --output-dir "$dir/whole" >"$dir/whole.log" 2>&1 \
    || { cat "$dir/whole.log"; echo "FAIL: the uninterrupted run failed"; exit 1; }

"${mpirun_command[@]}" "$binary" "${common[@]}" --output-dir "$dir/split" >"$dir/split.log" 2>&1 &
launcher=$!
victim=""
for _ in $(seq 1 600); do
    if [[ -z $victim ]]; then
        for pid in $(pgrep -f "$binary train" || true); do
            if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$pid; fi
        done
    fi
    [[ -f $dir/split/checkpoint-3/DONE ]] && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.2
done
[[ -f $dir/split/checkpoint-3/DONE && -n $victim ]] || { cat "$dir/split.log"; echo "FAIL: no checkpoint-3 while the job ran"; exit 1; }
kill -9 "$victim"
killed=$(date +%s)
for _ in $(seq 1 120); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$launcher" 2>/dev/null; then echo "FAIL: mpirun still running 60 s after rank 1 was killed"; exit 1; fi
wait "$launcher"
status=$?
launcher=""
[[ $status -ne 0 ]] || { echo "FAIL: the job exited 0 although rank 1 was killed"; exit 1; }
echo "ok: rank 1 SIGKILLed after checkpoint-3; mpirun exited with status $status after $(( $(date +%s) - killed )) s"
ls "$dir/split" | grep checkpoint | tr '\n' ' '; echo

"${mpirun_command[@]}" "$binary" "${common[@]}" --output-dir "$dir/split" --resume-from latest >"$dir/resume.log" 2>&1 \
    || { cat "$dir/resume.log"; echo "FAIL: the resumed run failed"; exit 1; }
grep -o "resumed from .*" "$dir/resume.log" | head -1
cmp "$dir/whole/model/model.safetensors" "$dir/split/model/model.safetensors" \
    || { echo "FAIL: final parameters differ from the uninterrupted run's"; exit 1; }
losses() { grep '"loss"' "$1" | sed -E 's/.*"grad_norm":([^,]*).*"learning_rate":([^,]*),"loss":([^,]*),.*"step":([0-9]+).*/\4 \3 \1 \2/'; }
diff <(losses "$dir/whole/log.jsonl") <(losses "$dir/split/log.jsonl") \
    || { echo "FAIL: logged losses differ"; exit 1; }
[[ $(losses "$dir/whole/log.jsonl" | wc -l) -eq 8 ]] || { echo "FAIL: expected 8 logged steps"; exit 1; }
echo "ok: resumed run's 8 losses, grad norms, learning rates and final parameters equal the uninterrupted run's"
