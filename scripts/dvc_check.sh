#!/usr/bin/env bash
# Checks the DVC example (examples/dvc: train → quantize → predict, lineage) with the real `dvc`
# from PyPI, in a throw-away copy: git init + dvc init, `dvc repro` runs every stage; a second
# `dvc repro` has nothing to reproduce; a changed quantize parameter re-runs quantize and the stages
# after it but not train; a changed training file re-runs train, and the new lineage.json holds the
# new file's sha256. One PASS/FAIL line per check, then "N passed, M failed"; exits 1 on a failure.
#   scripts/dvc_check.sh
# The venv is $DVC_VENV if set, else .cache/dvc-venv (created on first use: pip install dvc); the
# binary is $FTTRAIN if set, else this checkout's debug build (built here). Training runs 2 epochs
# (the example's 20 are for accuracy; DVC's behaviour is the same). ~30 s after the build.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
root=$PWD

venv=${DVC_VENV:-.cache/dvc-venv}
if ! "$venv/bin/dvc" --version >/dev/null 2>&1; then
    echo "dvc_check: creating $venv (pip install dvc)" >&2
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet dvc || { echo "FAIL: cannot install dvc into $venv"; exit 1; }
fi
dvc=$(cd "$venv/bin" && pwd)/dvc
if [ -z "${FTTRAIN:-}" ]; then
    build_log=$(swift build --product fttrain 2>&1) || { echo "$build_log" >&2; echo "FAIL: swift build"; exit 1; }
    FTTRAIN=$(swift build --show-bin-path)/fttrain
fi
bin_dir=$(cd "$(dirname "$FTTRAIN")" && pwd)
export PATH="$bin_dir:$PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/dvc/. "$work/"
rm -rf "$work/runs" "$work/dvc.lock"
cd "$work"
# What DVC re-runs is the point here, not accuracy: 2 epochs instead of the example's 20 keep it short.
sed -i 's/^num_train_epochs: .*/num_train_epochs: 2/' train.yaml
git init -q && git config user.email dvc-check@example.invalid && git config user.name dvc-check
"$dvc" init -q
git add -A && git commit -qm "the example" || { echo "FAIL: git commit of the example"; exit 1; }

passed=0
failed=0
check() {  # check NAME COMMAND...: PASS when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        failed=$((failed + 1))
    fi
}
ran() { grep -q "Running stage '$2'" "$1"; }
stages_run() { grep -o "Running stage '[a-z]*'" "$1" | sed "s/Running stage //; s/'//g" | tr '\n' ' '; }
repro() {  # repro LOG: dvc repro, its output in LOG (shown on failure)
    if ! "$dvc" repro >"$1" 2>&1; then
        cat "$1" >&2
        return 1
    fi
}

# 1. The first repro runs every stage; the quantised model's lineage chains back to the train run.
check "first dvc repro succeeds" repro first.log
check "first repro runs train, quantize, predict, lineage (ran: $(stages_run first.log))" \
    bash -c "[ \"$(stages_run first.log)\" = 'train quantize predict lineage ' ]"
check "runs/train/model/lineage.json and runs/int8/lineage.json written" \
    test -f runs/train/model/lineage.json -a -f runs/int8/lineage.json
check "fttrain lineage runs/int8: quantize then train, to the origin" bash -c \
    "[ \"\$(python3 -c \"import json; d=json.load(open('runs/lineage_chain.json')); print([l['lineage']['command'] for l in d['chain']], d['end']['kind'])\")\" = \"['quantize', 'train'] origin\" ]"
check "predictions: one line per test row" bash -c "[ \$(wc -l < runs/predictions.jsonl) -eq \$((\$(wc -l < data/test.csv) - 1)) ]"
git add -A >/dev/null 2>&1 && git commit -qm "first run" >/dev/null 2>&1

# 2. Nothing changed: nothing to reproduce.
check "second dvc repro succeeds" repro second.log
check "second repro runs no stage (ran: $(stages_run second.log))" bash -c "! grep -q 'Running stage' second.log"
check "second repro reports the pipeline up to date" grep -q "Data and pipelines are up to date" second.log

# 3. A quantize parameter changes: quantize and what follows re-run, train does not.
sed -i 's/^  max_length: 32$/  max_length: 24/' params.yaml
check "params.yaml changed" grep -q "max_length: 24" params.yaml
check "third dvc repro succeeds" repro third.log
check "changed quantize.max_length re-runs quantize, predict, lineage only (ran: $(stages_run third.log))" \
    bash -c "[ \"$(stages_run third.log)\" = 'quantize predict lineage ' ]"
check "the new quantised model's lineage.json records max_length 24" bash -c \
    "[ \"\$(python3 -c \"import json; print(json.load(open('runs/int8/lineage.json'))['settings']['max_length'])\")\" = 24 ]"

# 4. The training file changes: train re-runs, and its lineage.json holds the new file's sum.
echo '"a wonderful, charming picture !",positive' >>data/train.csv
check "fourth dvc repro succeeds" repro fourth.log
check "changed data/train.csv re-runs train (ran: $(stages_run fourth.log))" ran fourth.log train
check "runs/train/lineage.json's train input sum is sha256sum's of the new file" bash -c \
    "[ \"\$(python3 -c \"import json; print([i['sha256'] for i in json.load(open('runs/train/lineage.json'))['inputs'] if i['role'] == 'train'][0])\")\" = \"\$(sha256sum data/train.csv | cut -c1-64)\" ]"
check "fifth dvc repro runs no stage" bash -c "$(declare -f repro); dvc='$dvc'; repro fifth.log && ! grep -q 'Running stage' fifth.log"

echo "dvc_check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
