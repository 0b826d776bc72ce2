#!/usr/bin/env bash
# The test command: installs what is missing, fetches the real assets, builds and runs every test.
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh --no-build
scripts/fetch_assets.sh
# Tests run the built binary (CommandLineTests), so build everything first.
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# All tests are XCTest; Swift Testing would only add a closing "0 tests" line.
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
# A closing line any CI reads: "N passed, N failed", from XCTest's overall summary.
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
if [ -z "$summary" ]; then
    echo "test.sh: no XCTest summary found" >&2
    exit 1
fi
# Real-MPI checks (MPI_Init runs once per process, so they are scripts): the ring all-reduce
# against MPI_Allreduce under mpirun at 2-4 ranks, data-parallel training equal to one process,
# dead and hung ranks; then a real two-host job over two network namespaces.
script_passed=0
script_failed=0
script_status=0
run_script() {  # run_script SCRIPT: adds its closing "N passed, M failed" to the totals
    local status=0
    "$@" 2>&1 | tee "$log" || status=$?
    local summary
    summary=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$log" | tail -1)
    summary=${summary:-0 passed, 1 failed}
    script_passed=$((script_passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$summary")))
    script_failed=$((script_failed + $(sed -E 's/.*, ([0-9]+) failed$/\1/' <<<"$summary")))
    [ "$status" -eq 0 ] || script_status=$status
}
run_script scripts/mpi_test.sh
run_script scripts/multinode_test.sh
echo "$((executed - failed + script_passed)) passed, $((failed + script_failed)) failed"
[ "$status" -eq 0 ] && [ "$script_status" -eq 0 ] && [ "$script_failed" -eq 0 ]
