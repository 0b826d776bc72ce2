#!/usr/bin/env bash
# The timeline of a data-parallel run: `mpirun -np 2 fttrain train --trace` on MiniLM (a few steps,
# overlapped all-reduce), then checks that trace.json is valid trace-event JSON with a process per
# rank, that the spans of each rank's training track nest, that every forward and backward holds
# the model's embeddings, each of its layers and its head as spans (in order), that every all-reduce
# bucket of every step appears on both ranks, and compares the all-reduce wait the trace shows with
# log.jsonl's allreduce_fraction. Prints the recording overhead estimate (spans per step x cost per
# span), then measures it: `fttrain bench --trace-overhead` alternates traced and untraced steps.
#   scripts/trace_check.sh      (env KEEP=1 keeps the work directory, CONFIGURATION=release,
#                                OVERHEAD_STEPS=20 timed bench steps)
set -u
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
passed=0
failed=0
check() { if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

model=.cache/models/all-MiniLM-L6-v2
if [ ! -f "$model/config.json" ]; then check "model present" 1 "$model missing: run scripts/fetch_assets.sh"; finish; fi
configuration=${CONFIGURATION:-debug}  # CONFIGURATION=release for the overhead on optimised kernels
echo "== swift build -c $configuration --product fttrain"
if ! swift build -c "$configuration" --product fttrain >/dev/null; then check "build" 1 "swift build failed"; finish; fi
work=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] && echo "work directory: $work" || trap 'rm -rf "$work"' EXIT
{
    echo "label,text"
    for i in $(seq 1 40); do
        echo "fresh,\"a great and moving film number $i\""
        echo "rotten,\"a dull and tiresome mess number $i\""
        echo "plot,\"a man who finds a city in chapter $i\""
    done
} >"$work/train.csv"
steps=6
echo "== mpirun -np 2 fttrain train --trace ($steps steps)"
if ! timeout 600 mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1 .build/$configuration/fttrain train \
    --model-dir "$model" --train-file "$work/train.csv" --output-dir "$work/run" --max-steps $steps \
    --per-device-train-batch-size 8 --max-length 16 --logging-steps 1 --eval-strategy no --save-strategy no --seed 1 \
    --ddp-bucket-cap-mb 4 --trace >"$work/train.log" 2>&1; then
    tail -20 "$work/train.log"
    check "2-rank run" 1 "mpirun fttrain train failed"
    finish
fi
python3 - "$work/run" "$steps" <<'PY'
import json, sys
run, steps = sys.argv[1], int(sys.argv[2])
failures = []
trace = json.load(open(f"{run}/trace.json"))
events = trace["traceEvents"]
spans = [e for e in events if e["ph"] == "X"]
ranks = sorted({e["pid"] for e in spans})
print(f"PASS valid trace-event JSON: {len(events)} events, ranks {ranks}") if ranks == [0, 1] else failures.append(f"ranks {ranks}")
for rank in ranks:
    mine = [e for e in spans if e["pid"] == rank]
    main = sorted(((e["ts"], e["ts"] + e["dur"], e["name"]) for e in mine if e["tid"] == 0), key=lambda s: (s[0], -s[1]))
    stack, bad = [], 0
    for start, end, name in main:
        while stack and stack[-1][1] <= start + 1:
            stack.pop()
        if stack and end > stack[-1][1] + 1:
            bad += 1
        stack.append((start, end, name))
    if bad:
        failures.append(f"rank {rank}: {bad} spans overlap partly on the training track")
    # The model's parts inside each forward and backward, back to back, in order.
    layers = 1 + max(int(e["name"].split()[1]) for e in mine if e["cat"] == "layer" and e["name"].startswith("layer "))
    expected = {
        "forward": ["embeddings forward"] + [f"layer {l} forward" for l in range(layers)] + ["head forward"],
        "backward": ["head backward"] + [f"layer {l} backward" for l in reversed(range(layers))] + ["embeddings backward"],
    }
    parts = sorted((e for e in mine if e["cat"] == "layer"), key=lambda e: e["ts"])
    passes = [e for e in mine if e["name"] in expected]
    wrong = 0
    for p in passes:
        inside = [e["name"] for e in parts if e["ts"] >= p["ts"] - 1 and e["ts"] + e["dur"] <= p["ts"] + p["dur"] + 1]
        wrong += inside != expected[p["name"]]
    if wrong or not passes:
        failures.append(f"rank {rank}: {wrong} of {len(passes)} forward/backward spans lack their layer spans")
    else:
        print(f"PASS rank {rank}: {len(passes)} forward/backward spans each hold embeddings, {layers} layers and head, in order")
    step_spans = [e for e in mine if e["name"].startswith("step ")]
    buckets = [e for e in mine if e["cat"] == "allreduce" and e["name"].startswith("all-reduce bucket")]
    names = sorted({e["name"] for e in buckets})
    if len(step_spans) != steps:
        failures.append(f"rank {rank}: {len(step_spans)} step spans, expected {steps}")
    if not names or len(buckets) != steps * len(names):
        failures.append(f"rank {rank}: {len(buckets)} bucket spans for {len(names)} buckets x {steps} steps")
    for e in buckets:
        if not (e["args"]["enqueued_us"] <= e["ts"] + 1):
            failures.append(f"rank {rank}: {e['name']} started before it was enqueued")
            break
    wait = sum(e["dur"] for e in mine if e["name"] == "all-reduce wait")
    step_time = sum(e["dur"] for e in step_spans)
    per_step = len([e for e in mine if e["ts"] >= min(s["ts"] for s in step_spans)]) / steps
    print(f"rank {rank}: {steps} steps, {len(names)} buckets a step, all-reduce wait {wait / 1e3:.1f} ms of {step_time / 1e3:.1f} ms "
          f"in steps ({100 * wait / step_time:.1f}%), {per_step:.0f} spans a step: ~{per_step * 1.6:.0f} us of recording "
          f"= {100 * per_step * 1.6 / (step_time / steps):.3f}% of a step")
    if rank == 0:
        log = [json.loads(l) for l in open(f"{run}/log.jsonl") if "allreduce_fraction" in l]
        fraction = sum(r["allreduce_fraction"] for r in log) / max(len(log), 1)
        print(f"rank 0: log.jsonl allreduce_fraction (wait / logging window, data included) mean {100 * fraction:.1f}%")
names_by_rank = [sorted({e["name"] for e in spans if e["pid"] == r and e["cat"] == "allreduce"}) for r in ranks]
if len(names_by_rank) == 2 and names_by_rank[0] != names_by_rank[1]:
    failures.append(f"the ranks' all-reduce spans differ: {names_by_rank}")
for f in failures:
    print("FAIL " + f)
sys.exit(1 if failures else 0)
PY
check "trace of 2 ranks: spans nest, layers inside every pass, every bucket of every step on both ranks" "$?" "see above"

# The overhead measured: one process, odd steps traced, even ones not (medians of each).
echo "== fttrain bench --trace-overhead (MiniLM, batch 32, seq 128; load: $(uptime | sed 's/.*load average: //'))"
if bench=$(OPENBLAS_NUM_THREADS=1 .build/$configuration/fttrain bench --model-dir "$model" --batch 32 --seq 128 --warmup 2 \
    --steps "${OVERHEAD_STEPS:-20}" --trace-overhead 2>"$work/bench.log"); then
    echo "$bench"
    python3 - "$bench" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"trace overhead {100 * r['trace_overhead']:+.2f}% of a {r['step_ms_median']:.0f} ms step "
      f"(traced {r['step_ms_median_traced']:.0f} ms, {r['trace_spans_per_step']:.0f} spans a step); "
      f"paired {100 * r['trace_overhead_paired']:+.2f}%")
PY
    check "bench --trace-overhead ran" 0 ""
else
    tail -5 "$work/bench.log"
    check "bench --trace-overhead ran" 1 "fttrain bench failed"
fi
finish
