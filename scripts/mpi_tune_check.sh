#!/usr/bin/env bash
# `fttrain tune` under real MPI: 2 ranks with --ranks-per-trial 1 are two groups that each run a
# trial at a time. Checks (all-MiniLM-L6-v2, synthetic 3-class data, 4 steps per trial, an
# evaluation per step, ASHA η 2):
#   1. 4 trials: study.jsonl has one line per trial (0-3, none repeated, none failed), both ranks
#      ran trials, two trials overlapped in time, study.md and best.yaml are written and every trial
#      directory has its config.yaml and trial.json;
#   2. kill + resume: a 3-trial study is sent SIGTERM (through mpirun) once a trial has ended; the
#      same command run again ends with exactly 3 lines, the one written before the kill unchanged.
#   scripts/mpi_tune_check.sh BINARY      (env ONLY=resume skips part 1)
# Not called by scripts/mpi_test.sh: each trial loads the real model, which takes minutes with a
# debug binary on busy cores (measured: 4 trials in ~9 min, the resume part ~7 min at load 26);
# pass a release binary.
set -u
cd "$(dirname "$0")/.."
binary="$1"
model="$PWD/.cache/models/all-MiniLM-L6-v2"
[[ -f $model/model.safetensors ]] || { echo "FAIL: $model missing: run scripts/fetch_assets.sh"; exit 1; }
export OPENBLAS_NUM_THREADS=1
launcher=(mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1)
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
{
    echo "label,text"
    for a in good great fine lovely superb; do for n in movie film story show; do echo "fresh,the $n was $a and I liked it"; done; done
    for a in bad awful dull boring weak; do for n in movie film story show; do echo "rotten,the $n was $a and I left early"; done; done
    for w in man woman boy girl dog; do for p in city village island house; do echo "plot,a $w travels to a $p to find a lost friend"; done; done
} >"$dir/data.csv"
cat >"$dir/base.yaml" <<YAML
model_dir: $model
train_file: $dir/data.csv
output_dir: $dir/unused
max_steps: 4
per_device_train_batch_size: 8
max_length: 24
eval_strategy: steps
eval_steps: 1
logging_steps: 1
save_strategy: no
seed: 5
YAML
cat >"$dir/space.yaml" <<YAML
sampler: random
metric: eval_f1_macro
direction: maximize
min_resource: 1
reduction_factor: 2
learning_rate: {loguniform: [1e-5, 1e-3]}
warmup_ratio: {uniform: [0, 0.2]}
YAML
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# 1. Four trials on two groups.
if [[ ${ONLY:-} != resume ]]; then
"${launcher[@]}" "$binary" tune --config "$dir/base.yaml" --space "$dir/space.yaml" --trials 4 --output-dir "$dir/study" \
    >"$dir/run1.log" 2>&1
status=$?
((status == 0)) || { cat "$dir/run1.log"; fail "tune exited with $status"; }
python3 - "$dir/study" 4 <<'PY' || failures=$((failures + 1))
import json, os, sys
study, n = sys.argv[1], int(sys.argv[2])
lines = [json.loads(l) for l in open(os.path.join(study, "study.jsonl")) if l.strip()]
numbers = sorted(r["trial"] for r in lines)
assert numbers == list(range(n)), f"trials recorded: {numbers}"
assert all(r["state"] in ("complete", "pruned") for r in lines), [(r["trial"], r["state"], r.get("error")) for r in lines]
spans = sorted((r["started"], r["started"] + r["seconds"]) for r in lines)
overlap = any(b[0] < a[1] for a, b in zip(spans, spans[1:]))
assert overlap, f"no two trials ran at once: {spans}"
for r in lines:
    d = os.path.join(study, r["directory"])
    assert os.path.exists(os.path.join(d, "config.yaml")) and os.path.exists(os.path.join(d, "trial.json")), d
assert os.path.exists(os.path.join(study, "study.md")) and os.path.exists(os.path.join(study, "best.yaml"))
print("trials:", [(r["trial"], r["state"], r["value"]) for r in lines])
PY
grep -q "rank 1: trial-" "$dir/run1.log" || fail "rank 1 ran no trial"
grep -q "rank 0: trial-" "$dir/run1.log" || fail "rank 0 ran no trial"
cat "$dir/study/study.md"
fi

# 2. Kill after two trials have ended, then resume.
"${launcher[@]}" "$binary" tune --config "$dir/base.yaml" --space "$dir/space.yaml" --trials 3 --output-dir "$dir/resume" \
    >"$dir/run2.log" 2>&1 &
job=$!
for _ in $(seq 1 9000); do
    [[ -f $dir/resume/study.jsonl ]] && (($(wc -l <"$dir/resume/study.jsonl") >= 1)) && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.2
done
kill -TERM "$job" 2>/dev/null
wait "$job"
status=$?
before=$(cat "$dir/resume/study.jsonl" 2>/dev/null | wc -l)
cp "$dir/resume/study.jsonl" "$dir/before.jsonl"
echo "killed with $before trials ended (mpirun exit status $status)"
((before >= 1 && before < 3)) || fail "$before trials ended before the kill: the check proves nothing"
"${launcher[@]}" "$binary" tune --config "$dir/base.yaml" --space "$dir/space.yaml" --trials 3 --output-dir "$dir/resume" \
    >"$dir/run3.log" 2>&1
status=$?
((status == 0)) || { cat "$dir/run3.log"; fail "the resumed tune exited with $status"; }
grep -q "resuming: $before trials already ended" "$dir/run3.log" || fail "the rerun did not say it resumed $before trials"
python3 - "$dir/resume" "$dir/before.jsonl" <<'PY' || failures=$((failures + 1))
import json, os, sys
study, before = sys.argv[1], sys.argv[2]
lines = [l for l in open(os.path.join(study, "study.jsonl")) if l.strip()]
numbers = sorted(json.loads(l)["trial"] for l in lines)
assert numbers == list(range(3)), f"after resume: {numbers} (a trial repeated or missing)"
old = [l for l in open(before) if l.strip()]
assert lines[:len(old)] == old, "lines written before the kill changed"
print("resumed: 3 trials, none repeated")
PY
if ((failures)); then echo "mpi_tune_check: $failures failure(s)"; exit 1; fi
echo "mpi_tune_check: ok"
