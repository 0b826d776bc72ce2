#!/usr/bin/env bash
# Opens the HTML report of a tiny real run in headless Chromium (Debian's `chromium`, installed
# when missing) and checks that it renders without console errors, that its script ran (the
# errors table's "N of N rows shown" line), that it counts the expected charts and table rows for
# the run's files, and that it references nothing on the network. A negative control (the same
# report with a broken script appended) must be caught, so a silent console cannot pass.
#   scripts/report_check.sh            (env KEEP=1 keeps the work directory and prints it)
set -u
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

passed=0
failed=0
check() {  # check NAME CONDITION-STATUS DETAIL
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "== installing chromium"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1
    browser=$(command -v chromium || true)
fi
if [ -z "$browser" ]; then check "chromium installed" 1 "apt-get install chromium failed"; finish; fi

model=.cache/models/all-MiniLM-L6-v2
if [ ! -f "$model/config.json" ]; then check "model present" 1 "$model missing: run scripts/fetch_assets.sh"; finish; fi
echo "== swift build --product fttrain"
if ! swift build --product fttrain >/dev/null; then check "build" 1 "swift build failed"; finish; fi
binary=.build/debug/fttrain

work=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] && echo "work directory: $work" || trap 'rm -rf "$work"' EXIT

# Three small classes (a learning rate too small to learn them, so errors.jsonl has rows); a text with markup and quotes, which must reach the page as text.
{
    echo "label,text"
    for i in $(seq 1 40); do
        echo "fresh,\"a great and moving film number $i\""
        echo "rotten,\"a dull and tiresome mess number $i\""
        echo "plot,\"a man who finds a city in chapter $i\""
    done
    echo "plot,\"<script>document.title='owned'</script> \"\"quoted\"\" & more\""
} >"$work/train.csv"
echo "== a tiny run on $model"
if ! OPENBLAS_NUM_THREADS=1 "$binary" train --model-dir "$model" --train-file "$work/train.csv" --output-dir "$work/run" \
    --max-steps 4 --learning-rate 1e-6 --per-device-train-batch-size 8 --max-length 16 --logging-steps 2 --eval-strategy steps --eval-steps 2 \
    --save-strategy no --seed 1 >"$work/train.log" 2>&1; then
    tail -20 "$work/train.log"
    check "tiny run" 1 "fttrain train failed"
    finish
fi
run="$work/run"
report="$run/report.html"
check "report.html written by the run" "$([ -s "$report" ]; echo $?)" "missing $report"

# Expected from the run's own files: 4 training curves + one per eval_* key + 2 heatmaps + ROC.
eval_keys=$(grep -o '"eval_[A-Za-z0-9_]*"' "$run/log.jsonl" | sort -u | wc -l)
expected_charts=$((4 + eval_keys + 3))
expected_errors=$(grep -c . "$run/errors.jsonl")
classes=$(($(head -1 "$run/confusion_matrix.csv" | tr ',' '\n' | wc -l) - 1))

render() {  # render HTML-FILE OUT-PREFIX: the DOM after scripts ran, and the browser's log
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$work/profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=3000 --dump-dom "file://$1" >"$2.dom" 2>"$2.log"
}
render "$report" "$work/report"
check "chromium rendered the report" "$?" "$(tail -5 "$work/report.log")"
console_errors=$(grep -E 'CONSOLE|Uncaught|SyntaxError' "$work/report.log" || true)
check "no console messages" "$([ -z "$console_errors" ]; echo $?)" "$console_errors"
charts=$(grep -o '<figure class="chart"' "$work/report.dom" | wc -l)
check "$expected_charts charts (4 training, $eval_keys evaluation, 2 heatmaps, ROC)" "$([ "$charts" -eq "$expected_charts" ]; echo $?)" "found $charts"
svgs=$(grep -o '<svg ' "$work/report.dom" | wc -l)
check "one svg per chart" "$([ "$svgs" -eq "$expected_charts" ]; echo $?)" "found $svgs"
rows=$(grep -o '<tr data-label=' "$work/report.dom" | wc -l)
check "$expected_errors error rows (errors.jsonl)" "$([ "$rows" -eq "$expected_errors" ]; echo $?)" "found $rows"
grep -q ">$expected_errors of $expected_errors rows shown<" "$work/report.dom"
check "the filter script ran" "$?" "no \"$expected_errors of $expected_errors rows shown\" in the DOM"
cells=$(grep -o '<g class="cell">' "$work/report.dom" | wc -l)
check "$((2 * classes * classes)) heatmap cells" "$([ "$cells" -eq $((2 * classes * classes)) ]; echo $?)" "found $cells"
grep -q '<title>fttrain report' "$work/report.dom"
check "the data's script did not run" "$?" "the page title changed"
network=$(grep -oE '(src|href)="(https?:)?//[^"]*"' "$work/report.dom" | head -3)
check "nothing fetched from the network" "$([ -z "$network" ]; echo $?)" "$network"

# Negative control: a script error must show in the log the check reads.
sed 's|</body>|<script>undefinedFunctionOfTheCheck();</script></body>|' "$report" >"$work/broken.html"
render "$work/broken.html" "$work/broken"
grep -q 'undefinedFunctionOfTheCheck' "$work/broken.log"
check "a broken script is caught (negative control)" "$?" "chromium's log does not show the console error: $(tail -3 "$work/broken.log")"

# Two runs overlaid by `fttrain report`.
cp -r "$run" "$work/run2"
"$binary" report "$run" "$work/run2" --output "$work/both.html" >/dev/null 2>"$work/both.err"
check "fttrain report RUN RUN2" "$?" "$(cat "$work/both.err")"
render "$work/both.html" "$work/both"
console_errors=$(grep -E 'CONSOLE|Uncaught|SyntaxError' "$work/both.log" || true)
both_charts=$(grep -o '<figure class="chart"' "$work/both.dom" | wc -l)
check "overlay: $((4 + eval_keys + 6)) charts, no console messages" \
    "$([ "$both_charts" -eq $((4 + eval_keys + 6)) ] && [ -z "$console_errors" ]; echo $?)" "found $both_charts; $console_errors"
finish
