#!/usr/bin/env bash
# TensorBoard's own reader on fttrain's event files: a tiny real run with `--report-to tensorboard`,
# then the `tensorboard` package from PyPI (in a throw-away venv) loads OUT/runs/*/ with its
# EventAccumulator, which must find every number of log.jsonl under HF's tag (train/loss,
# train/learning_rate, train/grad_norm, eval/accuracy, ...) at its step with the logged value
# (float32), the final train_*/test_* metrics, and the settings as the text plugin's `args`; a
# copy with one CRC byte flipped must lose a record (the reader checks the framing).
#   scripts/tensorboard_check.sh        (env KEEP=1 keeps the work directory and prints it)
set -u
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

passed=0
failed=0
check() {  # check NAME STATUS DETAIL
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

work=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] && echo "work directory: $work" || trap 'rm -rf "$work"' EXIT

echo "== a throw-away venv with tensorboard"
if ! (python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q tensorboard) >"$work/pip.log" 2>&1; then
    check "pip install tensorboard" 1 "$(tail -5 "$work/pip.log")"
    finish
fi

model=.cache/models/all-MiniLM-L6-v2
if [ ! -f "$model/config.json" ]; then check "model present" 1 "$model missing: run scripts/fetch_assets.sh"; finish; fi
echo "== swift build --product fttrain"
if ! swift build --product fttrain >/dev/null; then check "build" 1 "swift build failed"; finish; fi

{
    echo "label,text"
    for i in $(seq 1 30); do
        echo "fresh,\"a great and moving film number $i\""
        echo "rotten,\"a dull and tiresome mess number $i\""
        echo "plot,\"a man who finds a city in chapter $i\""
    done
} >"$work/train.csv"
echo "== a tiny run with --report-to tensorboard"
if ! OPENBLAS_NUM_THREADS=1 .build/debug/fttrain train --model-dir "$model" --train-file "$work/train.csv" --output-dir "$work/run" \
    --max-steps 6 --per-device-train-batch-size 8 --max-length 16 --logging-steps 2 --eval-strategy steps --eval-steps 3 \
    --save-strategy no --seed 1 --report-to tensorboard >"$work/train.log" 2>&1; then
    tail -20 "$work/train.log"
    check "tiny run" 1 "fttrain train failed"
    finish
fi
files=$(find "$work/run/runs" -name 'events.out.tfevents.*' | wc -l)
check "one event file under OUT/runs/<date>_<host>/" "$([ "$files" -eq 1 ]; echo $?)" "found $files"

"$work/venv/bin/python" - "$work/run" <<'PY'
import json, pathlib, struct, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

run = pathlib.Path(sys.argv[1])
log_dir = next(run.glob("runs/*"))
acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
tags = acc.Tags()
failures = []

def tag(key):
    for prefix in ("eval_", "test_"):
        if key.startswith(prefix):
            return prefix[:-1] + "/" + key[len(prefix):]
    return "train/" + key

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]

expected = {}
for line in (run / "log.jsonl").read_text().splitlines():
    record = json.loads(line)
    for key, value in record.items():
        if key != "step" and isinstance(value, (int, float)):
            expected.setdefault(tag(key), []).append((record["step"], f32(value)))
metrics = json.loads((run / "metrics.json").read_text())
steps = max(step for values in expected.values() for step, _ in values)
for key, value in metrics.items():
    if not key.startswith("eval_") and key != "epoch":
        expected.setdefault(tag(key), []).append((int(metrics["train_steps"]), f32(value)))

found = 0
for name, values in sorted(expected.items()):
    if name not in tags["scalars"]:
        failures.append(f"{name}: not in TensorBoard's scalars")
        continue
    got = [(e.step, e.value) for e in acc.Scalars(name)]
    if got != values:
        failures.append(f"{name}: TensorBoard has {got}, logged {values}")
    found += len(got)
for required in ("train/loss", "train/learning_rate", "train/grad_norm", "train/epoch", "eval/accuracy", "eval/loss", "test/accuracy"):
    if required not in expected:
        failures.append(f"{required}: not logged at all")
extra = set(tags["scalars"]) - set(expected)
if extra:
    failures.append(f"scalars TensorBoard found that were not logged: {sorted(extra)}")
if "args/text_summary" not in tags["tensors"]:
    failures.append(f"no args/text_summary among the tensors {tags['tensors']}")
else:
    text = acc.Tensors("args/text_summary")[0].tensor_proto.string_val[0].decode()
    if "learning_rate:" not in text or "report_to: tensorboard" not in text:
        failures.append(f"args text lacks the settings: {text[:200]}")
# Negative control: the reader checks the framing's CRCs, so a flipped CRC byte loses a record.
import shutil
broken = run / "broken"
shutil.copytree(log_dir, broken)
event_file = next(broken.glob("events.out.tfevents.*"))
data = bytearray(event_file.read_bytes())
data[-1] ^= 0xFF
event_file.write_bytes(bytes(data))
damaged = EventAccumulator(str(broken), size_guidance={"scalars": 0, "tensors": 0})
damaged.Reload()
kept = sum(len(damaged.Scalars(name)) for name in damaged.Tags()["scalars"])
if kept >= found:
    failures.append(f"a corrupted CRC went unnoticed: {kept} of {found} values still read")
else:
    print(f"PASS a corrupted CRC is caught by TensorBoard's reader ({kept} of {found} values read)")
for failure in failures:
    print("FAIL " + failure)
print(f"PASS TensorBoard's EventAccumulator: {len(expected)} tags, {found} scalar values, args text" if not failures else "")
sys.exit(1 if failures else 0)
PY
check "EventAccumulator finds every logged scalar" "$?" "see above"
finish
