#!/usr/bin/env bash
# The serving benchmark (issue 16): `fttrain serve` against the guide's deployment stack — FastAPI +
# uvicorn + ONNX Runtime (scripts/anchors/serve_onnx.py) serving the ONNX file `fttrain export
# --format onnx` wrote from the same model — in one run on loopback, same compute threads, one
# process each. The model is an all-MiniLM-L6-v2 classifier fine-tuned on Rotten Tomatoes (fresh →
# pos, rotten → neg; one short run, kept in the work directory and reused). wrk (Debian) POSTs
# single-text /v1/predict requests, real Rotten Tomatoes reviews the model did not train on, cycled
# per connection, at 1, 8 and 64 connections; each side first answers the same texts with the same
# labels (probabilities within 1e-4), then gets a warm-up and the timed run. Prints requests/s, p50
# and p99 latency of both side by side, and the ratios (fttrain / anchor; > 1 means fttrain serves
# more requests per second, < 1 means lower latency).
#
#   scripts/bench_serve.sh
#   env THREADS (compute threads of each server, default 2), DURATION (s per timed run, default 20),
#       WARMUP (s, default 3), CONNECTIONS (default "1 8 64"), SIDES (default "fttrain anchor"; "anchor"
#       runs the anchor alone), RT_MODEL (a fine-tuned classifier directory to use instead of training),
#       MAX_LENGTH (tokens per text on both sides, default 128), BENCH_SERVE_DIR (default .cache/bench-serve),
#       ONNX_VENV (default .cache/onnx-venv: onnxruntime, numpy, tokenizers, fastapi, uvicorn[standard] from PyPI),
#       FTTRAIN_BINARY (an fttrain to use instead of building the release one).
# These machines are shared: run it when nothing else is, and read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
threads=${THREADS:-2} duration=${DURATION:-20} warmup=${WARMUP:-3} max_length=${MAX_LENGTH:-128}
connections=${CONNECTIONS:-"1 8 64"} sides=${SIDES:-"fttrain anchor"}
work=${BENCH_SERVE_DIR:-$PWD/.cache/bench-serve}
venv=${ONNX_VENV:-$PWD/.cache/onnx-venv}
minilm=$PWD/.cache/models/all-MiniLM-L6-v2
data=$PWD/.cache/data/rotten_tomatoes/rotten_tomatoes.csv
mkdir -p "$work"

# Set-up: wrk from Debian, the Python stack from PyPI, the assets, fttrain's release build.
if ! command -v wrk >/dev/null; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null
fi
# uvicorn[standard] (httptools, uvloop) is how FastAPI is deployed; plain uvicorn's pure-Python h11
# path measured ~45 ms per request under wrk (against 4 ms with httptools) for the same ONNX Runtime
# work, which would make the anchor look far slower than it is.
if ! "$venv/bin/python" -c "import onnxruntime, numpy, tokenizers, fastapi, uvicorn, httptools, uvloop" 2>/dev/null; then
    echo "bench_serve: creating $venv (onnxruntime, numpy, tokenizers, fastapi, uvicorn[standard])" >&2
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet onnxruntime numpy tokenizers fastapi "uvicorn[standard]"
fi
python=$venv/bin/python
scripts/fetch_assets.sh >/dev/null
if [ -n "${FTTRAIN_BINARY:-}" ]; then
    binary=$FTTRAIN_BINARY
else
    swift build -c release --product fttrain >/dev/null
    binary=$PWD/.build/release/fttrain
fi

# Data: 2,000 reviews to train on, 500 others as request bodies (one JSON body a line).
"$python" - "$data" "$work" <<'PY'
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r["category"] in ("fresh", "rotten") and r["text"].strip()]
clean = lambda r: " ".join(r["text"].split())
with open(f"{sys.argv[2]}/train.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f); w.writerow(["label", "text"])
    for r in rows[:2000]: w.writerow(["pos" if r["category"] == "fresh" else "neg", clean(r)])
with open(f"{sys.argv[2]}/bodies.jsonl", "w", encoding="utf-8") as f:
    for r in rows[5000:5500]: f.write(json.dumps({"inputs": clean(r)}) + "\n")
PY

# The model: RT_MODEL, else a short fine-tuning run (kept and reused), then its ONNX export.
model=${RT_MODEL:-$work/rt/model}
if [ ! -f "$model/model.safetensors" ]; then
    echo "bench_serve: fine-tuning MiniLM on 2,000 Rotten Tomatoes reviews (1 epoch) into $work/rt" >&2
    rm -rf "$work/rt"
    "$binary" train --model-dir "$minilm" --train-file "$work/train.csv" --output-dir "$work/rt" --split-ratios 0.9,0.1,0 \
        --num-train-epochs 1 --per-device-train-batch-size 32 --learning-rate 5e-5 --max-length 64 --save-strategy no \
        --threads "$threads" >"$work/train.log" 2>&1 || { tail -20 "$work/train.log"; exit 1; }
    grep -iE "accuracy|eval" "$work/train.log" | tail -2 >&2 || true
fi
onnx=$work/rt.onnx
if [ ! -f "$onnx" ] || [ "$model/model.safetensors" -nt "$onnx" ]; then
    "$binary" export --format onnx --model-dir "$model" --output "$onnx" >&2
fi

pids=()
logs=$(mktemp -d)
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$logs"
}
trap cleanup EXIT

# start NAME COMMAND...: runs a server in the background, waits (60 s at most) for its ready line
# (`...: listening on http://HOST:PORT`) and puts its base URL in url[NAME].
declare -A url
start() {
    local name=$1; shift
    "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
    local pid=$! i found
    pids+=("$pid")
    for ((i = 0; i < 600; i++)); do
        found=$(sed -n 's/.*: listening on \(http:[^ ]*\).*/\1/p' "$logs/$name.out" | head -1)
        if [ -n "$found" ]; then
            url[$name]=$found
            echo "bench_serve: $name at $found" >&2
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench_serve: $name did not become ready:" >&2
    tail -20 "$logs/$name.err" >&2
    exit 1
}

for side in $sides; do
    case $side in
        fttrain) start fttrain "$binary" serve --model "rt=$model" --port 0 --threads "$threads" --max-length "$max_length" ;;
        anchor)
            start anchor env OMP_NUM_THREADS="$threads" "$python" scripts/anchors/serve_onnx.py --onnx "$onnx" \
                --model-dir "$model" --name rt --port 0 --threads "$threads" --max-length "$max_length" ;;
        *) echo "bench_serve: unknown side $side (fttrain, anchor)" >&2; exit 1 ;;
    esac
done

# Both sides answer the same 20 texts alike before anything is timed.
"$python" - "$work/bodies.jsonl" "${url[@]}" <<'PY'
import collections, json, sys, urllib.request
bodies = [line for line in open(sys.argv[1], encoding="utf-8")][:20]
answers = []
for base in sys.argv[2:]:
    out = []
    for body in bodies:
        request = urllib.request.Request(base + "/v1/predict", data=body.encode(), headers={"content-type": "application/json"})
        reply = json.load(urllib.request.urlopen(request, timeout=60))
        assert len(reply["predictions"]) == 1, reply
        out.append(reply["predictions"][0])
    answers.append(out)
for other in answers[1:]:
    for a, b in zip(answers[0], other):
        assert a["label"] == b["label"], (a, b)
        assert max(abs(a["probabilities"][k] - b["probabilities"][k]) for k in a["probabilities"]) < 1e-4, (a, b)
counts = collections.Counter(p["label"] for p in answers[0])
print(f"bench_serve: {len(sys.argv) - 2} side(s) agree on 20 texts ({', '.join(f'{n} {label}' for label, n in sorted(counts.items()))})",
      file=sys.stderr)
PY

# The wrk script: one request body per line of bodies.jsonl, each connection cycling through them
# from its own offset; done() prints one parsable line.
cat >"$logs/predict.lua" <<EOF
local bodies = {}
for line in io.lines("$work/bodies.jsonl") do bodies[#bodies + 1] = line end
local counter = 0
local threads = {}
function setup(thread) thread:set("id", #threads); threads[#threads + 1] = thread end
function init(args) counter = id * 997 end
function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/predict", {["content-type"] = "application/json"}, bodies[counter % #bodies + 1])
end
function done(summary, latency, requests)
    local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
    io.write(string.format("RESULT %.2f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, bad))
end
EOF

declare -A result
for c in $connections; do
    for side in $sides; do
        wrk_threads=$((c < 2 ? 1 : 2))
        wrk -t"$wrk_threads" -c"$c" -d"${warmup}s" -s "$logs/predict.lua" "${url[$side]}" >/dev/null
        line=$(wrk -t"$wrk_threads" -c"$c" -d"${duration}s" --timeout 30s --latency -s "$logs/predict.lua" "${url[$side]}" | grep '^RESULT')
        read -r _ rps p50 p99 count bad <<<"$line"
        [ "$bad" -eq 0 ] || echo "bench_serve: $side at $c connections: $bad failed requests of $count" >&2
        [ "$count" -gt 0 ] || echo "bench_serve: $side at $c connections completed no request in ${duration} s (raise DURATION)" >&2
        result[$side,$c]="$rps $p50 $p99"
        echo "bench_serve: $side, $c connections: $rps requests/s, p50 $p50 ms, p99 $p99 ms ($count requests)" >&2
    done
done

echo
echo "Serving $model: single-text POST /v1/predict (Rotten Tomatoes reviews), $threads compute threads, ${duration} s per run (wrk, loopback)"
printf "%-12s | %-32s | %-32s | %s\n" connections "fttrain serve: req/s  p50  p99" "FastAPI+ORT: req/s  p50  p99" "ratio req/s, p50, p99"
for c in $connections; do
    read -r f_rps f_p50 f_p99 <<<"${result[fttrain,$c]:-- - -}"
    read -r a_rps a_p50 a_p99 <<<"${result[anchor,$c]:-- - -}"
    ratios=$(awk -v fr="$f_rps" -v ar="$a_rps" -v f5="$f_p50" -v a5="$a_p50" -v f9="$f_p99" -v a9="$a_p99" \
        'BEGIN { if (fr == "-" || ar == "-" || ar == 0 || a5 == 0 || a9 == 0) print "-"; else printf "%.2fx, %.2fx, %.2fx", fr / ar, f5 / a5, f9 / a9 }')
    printf "%-12s | %8s %8s ms %8s ms | %8s %8s ms %8s ms | %s\n" "$c" "$f_rps" "$f_p50" "$f_p99" "$a_rps" "$a_p50" "$a_p99" "$ratios"
done
