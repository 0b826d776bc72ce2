#!/usr/bin/env bash
# `fttrain tune` under real MPI: 2 x K ranks with --ranks-per-trial K are two groups that each run a
# trial at a time, data-parallel inside the group. Checks (synthetic 3-class data, 4 steps per
# trial, an evaluation per step, eval_loss minimized, ASHA with min_resource 1 and η 2, so rungs at
# evaluations 1, 2, 4):
#   1. 4 trials: study.jsonl has one line per trial (0-3, none repeated, none failed), two trials
#      overlapped in time, study.md and best.yaml are written and every trial directory has its
#      config.yaml and trial.json; every trial was started by exactly the K ranks of one group and
#      both groups ran trials; each trial trained on K ranks (its log: "× K ranks"; a complete
#      trial's lineage.json: world_size K);
#   2. ASHA: rank 0 logs every decision at a rung in the order it took them; replaying them with
#      Optuna's rule (go on when at least as good as the ⌊n/η⌋-th best of the n values at the rung) gives the
#      same decisions, a trial is pruned in study.jsonl exactly when it was told to stop (at that
#      evaluation, with no evaluation after it), and its recorded rung values are the logged ones;
#   3. a complete trial equals the same trial run alone by `mpirun -np K fttrain train --config
#      trial-NNNN/config.yaml`, bit for bit: the same ranks sum the same gradients in the same
#      order (per-step loss, grad norm and learning rate, every evaluation's metrics, the final
#      parameters by diff-weights with no tolerance);
#   4. kill + resume: an 8-trial study is sent SIGTERM (through mpirun) once a trial has ended; the
#      same command run again ends with exactly 8 lines, the lines written before the kill unchanged,
#      the ended trials neither started again nor their trial.json rewritten.
#   scripts/mpi_tune_check.sh BINARY
#   env RANKS_PER_TRIAL (1 or 2, default 2: 4 ranks), MODEL (tiny, default: a random 2-layer BERT from
#   scripts/make_tiny_bert.py; minilm: all-MiniLM-L6-v2, minutes per trial with a debug binary),
#   ONLY=resume runs part 4 alone.
# With the tiny model it takes ~1-2 min with a debug binary on 2 busy cores; called by scripts/mpi_test.sh.
set -u
cd "$(dirname "$0")/.."
binary="$1"
per_trial=${RANKS_PER_TRIAL:-2}
[[ $per_trial =~ ^(1|2)$ ]] || { echo "FAIL: RANKS_PER_TRIAL must be 1 or 2"; exit 1; }
ranks=$((2 * per_trial))
export OPENBLAS_NUM_THREADS=1
launcher=(mpirun --allow-run-as-root --oversubscribe -np "$ranks" -x OPENBLAS_NUM_THREADS=1)
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
if [[ ${MODEL:-tiny} == minilm ]]; then
    model="$PWD/.cache/models/all-MiniLM-L6-v2"
    [[ -f $model/model.safetensors ]] || { echo "FAIL: $model missing: run scripts/fetch_assets.sh"; exit 1; }
else
    model="$dir/tiny-bert"
    python3 scripts/make_tiny_bert.py "$model" --seed 4 the was and i liked it left early a to find lost friend travels \
        good great fine lovely superb bad awful dull boring weak movie film story show man woman boy girl dog \
        city village island house || { echo "FAIL: scripts/make_tiny_bert.py"; exit 1; }
fi
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
per_device_train_batch_size: $((8 / per_trial))
max_length: 24
eval_strategy: steps
eval_steps: 1
logging_steps: 1
save_strategy: no
seed: 5
YAML
cat >"$dir/space.yaml" <<YAML
sampler: random
metric: eval_loss
direction: minimize
min_resource: 1
reduction_factor: 2
learning_rate: {loguniform: [1e-5, 1e-2]}
warmup_ratio: {uniform: [0, 0.2]}
YAML
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if [[ ${ONLY:-} != resume ]]; then
    # 1. Four trials on two groups of K ranks.
    started=$(date +%s)
    "${launcher[@]}" "$binary" tune --config "$dir/base.yaml" --space "$dir/space.yaml" --trials 4 \
        --ranks-per-trial "$per_trial" --output-dir "$dir/study" >"$dir/run1.log" 2>&1
    status=$?
    echo "4 trials on $ranks ranks in groups of $per_trial: $(($(date +%s) - started)) s"
    ((status == 0)) || { cat "$dir/run1.log"; fail "tune exited with $status"; }
    python3 - "$dir/study" 4 "$dir/run1.log" "$per_trial" <<'PY' || failures=$((failures + 1))
import json, os, re, sys
study, n, log, per_trial = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ranks = 2 * per_trial
lines = [json.loads(l) for l in open(os.path.join(study, "study.jsonl")) if l.strip()]
records = {r["trial"]: r for r in lines}
numbers = sorted(r["trial"] for r in lines)
assert numbers == list(range(n)), f"trials recorded: {numbers}"
assert all(r["state"] in ("complete", "pruned") for r in lines), [(r["trial"], r["state"], r.get("error")) for r in lines]
spans = sorted((r["started"], r["started"] + r["seconds"]) for r in lines)
assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), f"no two trials ran at once: {spans}"
for r in lines:
    d = os.path.join(study, r["directory"])
    assert os.path.exists(os.path.join(d, "config.yaml")) and os.path.exists(os.path.join(d, "trial.json")), d
assert os.path.exists(os.path.join(study, "study.md")) and os.path.exists(os.path.join(study, "best.yaml"))
text = open(log).read().splitlines()

# Which ranks started each trial: exactly the K ranks of one group.
starters = {}
for line in text:
    m = re.match(r"\[tune\] rank (\d+): trial-(\d{4}): \w+=", line)
    if m:
        starters.setdefault(int(m.group(2)), []).append(int(m.group(1)))
groups_used = set()
for t in range(n):
    got = sorted(starters.get(t, []))
    assert got and got[0] % per_trial == 0 and got == list(range(got[0], got[0] + per_trial)), \
        f"trial {t} was started by ranks {got}, not by the {per_trial} ranks of one group"
    groups_used.add(got[0] // per_trial)
assert groups_used == {0, 1}, f"only group(s) {groups_used} ran trials"

# Each trial trained on K ranks (a pruned trial writes no lineage.json: it never finished).
for r in lines:
    if r["state"] != "complete":
        continue
    d = os.path.join(study, r["directory"])
    lineage = os.path.join(d, "lineage.json")
    assert os.path.exists(lineage), f"{d} has no lineage.json"
    world = json.load(open(lineage)).get("settings", {}).get("resolved", {}).get("world_size")
    assert world == per_trial, f"{lineage}: world_size {world}, expected {per_trial}"
worlds = [l for l in text if f"× {per_trial} rank{'s' if per_trial > 1 else ''} ×" in l]
assert len(worlds) >= n, f"{len(worlds)} log lines say '× {per_trial} ranks' for {n} trials"

# ASHA: replay rank 0's decisions in the order it took them.
eta, rungs, told = 2, {}, {}
for line in text:
    m = re.search(r"asha: trial-(\d{4}) evaluation (\d+) value (\S+) -> (stop|continue)", line)
    if not m:
        continue
    t, e, v, decision = int(m.group(1)), int(m.group(2)), float(m.group(3)), m.group(4)
    values = rungs.setdefault(e, {})
    assert t not in values, f"trial {t} reported twice at evaluation {e}"
    values[t] = v
    ranked = sorted(values.values())  # minimize eval_loss
    expected = "continue" if v <= ranked[max(len(ranked) // eta - 1, 0)] else "stop"
    assert decision == expected, f"trial {t} at evaluation {e} ({v} among {sorted(values.values())}): told {decision}, the rule says {expected}"
    assert t not in told or told[t][0] == "continue", f"trial {t} reported after it was told to stop"
    told[t] = (decision, e)
    assert abs(records[t]["rungs"][str(e)] - v) <= 1e-12 * abs(v), f"trial {t}: rung {e} recorded {records[t]['rungs'][str(e)]}, logged {v}"
for t, r in records.items():
    decision, e = told.get(t, ("continue", 0))
    if r["state"] == "pruned":
        assert decision == "stop", f"trial {t} is pruned but was never told to stop"
        assert len(r["evaluations"]) == e, f"trial {t} stopped at evaluation {e} but recorded {len(r['evaluations'])}"
    else:
        assert decision == "continue", f"trial {t} was told to stop at evaluation {e} but is {r['state']}"
    assert set(r["rungs"]) == {str(k) for k in rungs if t in rungs[k]}, f"trial {t}: rungs {r['rungs']} against the log"
pruned = sorted(t for t, r in records.items() if r["state"] == "pruned")
print("trials:", [(r["trial"], r["state"], r["value"]) for r in lines])
print(f"ok: {sum(len(v) for v in rungs.values())} ASHA decisions replayed; pruned {pruned}; every trial on {per_trial} rank(s) of one group")
PY
    cat "$dir/study/study.md"

    # 3. The first complete trial, alone.
    trial=$(python3 -c "import json, sys; print(next(json.loads(l)['directory'] for l in open(sys.argv[1]) if json.loads(l)['state'] == 'complete'))" \
        "$dir/study/study.jsonl" 2>/dev/null)
    if [[ -z $trial ]]; then
        fail "no complete trial"
    else
        if ((per_trial == 1)); then alone=("$binary"); else alone=(mpirun --allow-run-as-root --oversubscribe -np "$per_trial" -x OPENBLAS_NUM_THREADS=1 "$binary"); fi
        "${alone[@]}" train --config "$dir/study/$trial/config.yaml" --output-dir "$dir/alone" >"$dir/alone.log" 2>&1 \
            || { cat "$dir/alone.log"; fail "$trial alone exited with an error"; }
        grep -q "× $per_trial rank" "$dir/alone.log" || fail "$trial alone did not train on $per_trial rank(s)"
        # Every record without its timing fields.
        strip() { sed -E 's/"(allreduce_fraction|epoch_seconds|seconds|samples_per_second|steps_per_second|runtime|[a-z_]*_runtime|[a-z_]*_per_second|time|timestamp|wall)":[^,}]*,?//g' "$1"; }
        if ! diff <(strip "$dir/study/$trial/log.jsonl") <(strip "$dir/alone/log.jsonl") >"$dir/log.diff"; then
            head -20 "$dir/log.diff"; fail "$trial in the study and alone logged different records"
        elif ! "$binary" diff-weights "$dir/study/$trial/model" "$dir/alone/model" >"$dir/weights.log" 2>&1; then
            cat "$dir/weights.log"; fail "$trial in the study and alone reached different parameters"
        else
            echo "ok: $trial in the study = $trial alone on $per_trial rank(s), bit for bit ($(grep -c '"loss"' "$dir/alone/log.jsonl") steps, $(grep -c '"eval_' "$dir/alone/log.jsonl") evaluations)"
        fi
    fi
fi

# 4. Kill once a trial has ended, then resume. Tiny trials of 4 steps end in well under a second, so
#    this study has 8 unpruned trials of 40 steps: the SIGTERM lands while some are still to run.
resume_trials=${RESUME_TRIALS:-8}
sed 's/^max_steps: 4$/max_steps: 40/; s/^eval_steps: 1$/eval_steps: 10/' "$dir/base.yaml" >"$dir/base_resume.yaml"
{ cat "$dir/space.yaml"; echo "pruner: none"; } >"$dir/space_resume.yaml"
"${launcher[@]}" "$binary" tune --config "$dir/base_resume.yaml" --space "$dir/space_resume.yaml" --trials "$resume_trials" --ranks-per-trial "$per_trial" \
    --output-dir "$dir/resume" >"$dir/run2.log" 2>&1 &
job=$!
for _ in $(seq 1 9000); do
    [[ -f $dir/resume/study.jsonl ]] && (($(wc -l <"$dir/resume/study.jsonl") >= 1)) && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
done
kill -TERM "$job" 2>/dev/null
wait "$job"
status=$?
before=$(cat "$dir/resume/study.jsonl" 2>/dev/null | wc -l)
cp "$dir/resume/study.jsonl" "$dir/before.jsonl"
mkdir -p "$dir/before"
for t in $(python3 -c "import json, sys; [print(json.loads(l)['directory']) for l in open(sys.argv[1]) if l.strip()]" "$dir/before.jsonl"); do
    cp "$dir/resume/$t/trial.json" "$dir/before/$t.json"
done
echo "killed with $before trials ended (mpirun exit status $status)"
((before >= 1 && before < resume_trials)) || fail "$before trials ended before the kill: the check proves nothing"
"${launcher[@]}" "$binary" tune --config "$dir/base_resume.yaml" --space "$dir/space_resume.yaml" --trials "$resume_trials" --ranks-per-trial "$per_trial" \
    --output-dir "$dir/resume" >"$dir/run3.log" 2>&1
status=$?
((status == 0)) || { cat "$dir/run3.log"; fail "the resumed tune exited with $status"; }
grep -q "resuming: $before trials already ended" "$dir/run3.log" || fail "the rerun did not say it resumed $before trials"
python3 - "$dir/resume" "$dir/before.jsonl" "$dir/run3.log" "$resume_trials" <<'PY' || failures=$((failures + 1))
import json, os, re, sys
study, before, log, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = [l for l in open(os.path.join(study, "study.jsonl")) if l.strip()]
numbers = sorted(json.loads(l)["trial"] for l in lines)
assert numbers == list(range(total)), f"after resume: {numbers} (a trial repeated or missing)"
old = [l for l in open(before) if l.strip()]
assert lines[:len(old)] == old, "lines written before the kill changed"
ended = {json.loads(l)["trial"] for l in old}
again = {int(m.group(1)) for m in re.finditer(r"rank \d+: trial-(\d{4}): \w+=", open(log).read())}
assert not ended & again, f"the rerun started ended trial(s) {sorted(ended & again)} again"
print(f"resumed: {total} trials, none repeated (the rerun started {sorted(again)})")
PY
for saved in "$dir"/before/*.json; do
    t=$(basename "$saved" .json)
    cmp -s "$saved" "$dir/resume/$t/trial.json" || fail "$t ended before the kill, but its trial.json was rewritten"
done
if ((failures)); then echo "mpi_tune_check: $failures failure(s)"; exit 1; fi
echo "mpi_tune_check: ok"
