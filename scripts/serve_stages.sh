#!/usr/bin/env bash
# Where a single request's time goes in `fttrain serve` (issue 16): serves the bench_serve.sh model
# with FTTRAIN_SERVE_STAGES=1 (each request stamps a monotonic clock at every stage of its path;
# the server prints the median and mean of each stage when it stops), drives it with wrk at one
# connection (sequential single-text /v1/predict requests, held-out Rotten Tomatoes reviews), and
# alternates the two compute paths in ROUNDS interleaved runs, so both see the same load:
#   queued  FTTRAIN_SERVE_INLINE=0: every request wakes the compute thread and is woken back;
#   inline  the default: a lone request on an idle queue runs on its own thread.
# Prints wrk's requests/s and latency percentiles and the server's stage table for each run.
#
#   scripts/serve_stages.sh
#   env FTTRAIN_BINARY (default .build/release/fttrain, built if missing), RT_MODEL (default
#       .cache/bench-serve/rt/model, which scripts/bench_serve.sh makes), BODIES (default
#       .cache/bench-serve/bodies.jsonl), DURATION (s per run, default 10), ROUNDS (default 2),
#       THREADS (default 2), CONNECTIONS (default 1).
# A measurement on a shared machine: read it beside `uptime`, which it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
binary=${FTTRAIN_BINARY:-$PWD/.build/release/fttrain}
model=${RT_MODEL:-$PWD/.cache/bench-serve/rt/model}
bodies=${BODIES:-$PWD/.cache/bench-serve/bodies.jsonl}
duration=${DURATION:-10} rounds=${ROUNDS:-2} threads=${THREADS:-2} connections=${CONNECTIONS:-1}
[ -x "$binary" ] || swift build -c release --product fttrain >/dev/null
for file in "$model/config.json" "$bodies"; do
    [ -f "$file" ] || { echo "serve_stages: $file is missing (run scripts/bench_serve.sh once)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "serve_stages: wrk is missing (apt-get install wrk)" >&2; exit 1; }

logs=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    rm -rf "$logs"
}
trap cleanup EXIT
cat >"$logs/predict.lua" <<EOF
local bodies = {}
for line in io.lines("$bodies") do bodies[#bodies + 1] = line end
local counter = 0
function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/predict", {["content-type"] = "application/json"}, bodies[counter % #bodies + 1])
end
function done(summary, latency, requests)
    io.write(string.format("wrk: %.2f requests/s, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms (%d requests, %d errors)\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, summary.requests, summary.errors.status + summary.errors.read + summary.errors.timeout))
end
EOF

# run NAME INLINE: one server, a 2 s warm-up, a timed run, the stage table.
run() {
    local name=$1 inline=$2 url= i
    FTTRAIN_SERVE_STAGES=1 FTTRAIN_SERVE_INLINE=$inline "$binary" serve --model "rt=$model" --port 0 --threads "$threads" \
        --max-length 128 >"$logs/out" 2>"$logs/err" &
    pid=$!
    for ((i = 0; i < 600; i++)); do
        url=$(sed -n 's/.*: listening on \(http:[^ ]*\).*/\1/p' "$logs/out" | head -1)
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$url" ] || { echo "serve_stages: the server did not start:" >&2; tail -20 "$logs/err" >&2; exit 1; }
    wrk -t1 -c"$connections" -d2s -s "$logs/predict.lua" "$url" >/dev/null
    echo "== $name (FTTRAIN_SERVE_INLINE=$inline), $connections connection(s), ${duration} s; $(uptime | sed 's/.*load/load/')"
    wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$logs/predict.lua" "$url" | grep '^wrk:'
    kill -TERM "$pid"
    wait "$pid" || true
    pid=
    sed -n '/^serve stages/,$p' "$logs/err"
    echo
}

for ((round = 1; round <= rounds; round++)); do
    run queued 0
    run inline 1
done
