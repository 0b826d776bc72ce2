#!/usr/bin/env bash
# Multi-node check on one machine: two network namespaces joined by a veth pair act as two hosts,
# mpirun starts one rank in each through scripts/netns_rsh_agent.sh (`ip netns exec`, no ssh), and
# all MPI traffic (out-of-band and the TCP BTL) goes over the veth link. Checks, in order:
#   1. placement: rank 0 runs in namespace A and rank 1 in namespace B;
#   2. `fttrain-dist-check --mode verify` across the two hosts (its ok lines, exit 0);
#   3. data-parallel training across the two hosts, 2 ranks x batch 4, trains like 1 process x batch 8
#      (the comparison of scripts/mpi_train_check.sh: per-step losses and grad norms within 1e-5
#      relative, final metrics equal at the printed decimals);
#   4. cluster/launch.sh across the two hosts (BLAS threads exported to each rank, fttrain-dist-check verify);
#   5. 2 hosts x 2 ranks: the node layout fttrain finds, and every all-reduce algorithm (hierarchical
#      inside each host, then across) equal to the exact sums;
#   6. the MPI traffic went over the veth link (its byte counters).
# The namespaces (and with them the veth pair) are deleted by an EXIT trap, also on failure, timeout
# or interrupt. Needs root (or CAP_SYS_ADMIN) and iproute2: without them it FAILS, it does not skip.
# The two "hosts" share this machine's cores, so ranks are not bound (Open MPI's default would pin
# both to core 0, one per host). Traffic goes only between the two namespaces (addresses in 10.231.X.0/24, nothing is routed out).
#
# Usage: scripts/multinode_test.sh [--release]   (default binary .build/debug/fttrain; it builds first)
#   env TIMEOUT=seconds per mpirun/run (default 600), MULTINODE_NET=a.b.c (the /24, default 10.231.N)
set -u
cd "$(dirname "$0")/.."
repo="$(pwd)"

configuration=debug
if [[ "${1:-}" == "--release" ]]; then configuration=release; fi
timeout_seconds="${TIMEOUT:-600}"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 && $passed -gt 0 ]]; exit $?; }

echo "== swift build -c $configuration --product fttrain, fttrain-dist-check"
if ! swift build -c "$configuration" --product fttrain || ! swift build -c "$configuration" --product fttrain-dist-check; then
    fail "build"; finish
fi
binary="$repo/.build/$configuration/fttrain"
dist_check="$repo/.build/$configuration/fttrain-dist-check"
agent="$repo/scripts/netns_rsh_agent.sh"
[[ -x $agent ]] || { fail "agent $agent is missing or not executable"; finish; }

# --- two hosts -----------------------------------------------------------------------------------
ns_a="ftA$$"
ns_b="ftB$$"
net="${MULTINODE_NET:-10.231.$(( $$ % 250 + 1 ))}"
addr_a="$net.1"
addr_b="$net.2"
dir="$(mktemp -d)"
created=()

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    for ns in "${created[@]}"; do
        # Anything still running in our namespaces (a timed-out rank, an orphaned orted) was started
        # by this script: end it by pid, then delete the namespace (which deletes its veth end).
        local pids; pids="$(ip netns pids "$ns" 2>/dev/null)"
        if [[ -n $pids ]]; then kill -TERM $pids 2>/dev/null; sleep 1; kill -KILL $pids 2>/dev/null; fi
        ip netns delete "$ns" 2>/dev/null || echo "warning: could not delete network namespace $ns"
    done
    rm -rf "$dir"
    exit $status
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM HUP

echo "== hosts: $ns_a = $addr_a, $ns_b = $addr_b (veth pair, $net.0/24)"
setup_hosts() {
    ip netns add "$ns_a" || return 1
    created+=("$ns_a")
    ip netns add "$ns_b" || return 1
    created+=("$ns_b")
    ip -n "$ns_a" link add veth0 type veth peer name veth1 netns "$ns_b" || return 1
    ip -n "$ns_a" addr add "$addr_a/24" dev veth0 || return 1
    ip -n "$ns_b" addr add "$addr_b/24" dev veth1 || return 1
    for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up || return 1; done
    ip -n "$ns_a" link set veth0 up || return 1
    ip -n "$ns_b" link set veth1 up || return 1
}
if ! command -v ip >/dev/null 2>&1; then
    fail "network namespaces: the 'ip' command (iproute2) is missing: apt-get install -y iproute2"; finish
fi
if ! setup_hosts; then
    fail "network namespaces: could not create two namespaces and a veth pair with 'ip netns' (needs root or CAP_SYS_ADMIN and iproute2)"
    finish
fi
pass "two hosts ($ns_a, $ns_b) joined by a veth pair"

printf '%s slots=1\n%s slots=1\n' "$addr_a" "$addr_b" >"$dir/hostfile"
export NETNS_RSH_MAP="$addr_a=$ns_a $addr_b=$ns_b"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1
mpirun_command=(timeout --kill-after=10 "$timeout_seconds" ip netns exec "$ns_a"
    mpirun --hostfile "$dir/hostfile" -np 2 --bind-to none
    --mca plm_rsh_agent "$agent" --mca plm_rsh_no_tree_spawn 1
    --mca btl tcp,self --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24"
    -x OPENBLAS_NUM_THREADS=1)

run() {  # run NAME CHECK COMMAND...: pass if the command exits 0, prints no ^FAIL line, and CHECK holds
    local name="$1" check="$2"; shift 2
    echo "== $name"
    local log="$dir/run.log" start=$SECONDS
    "$@" >"$log" 2>&1
    local status=$?
    cat "$log"
    echo "   (${name}: $((SECONDS - start))s)"
    if [[ $status -eq 124 || $status -eq 137 ]]; then fail "$name (timed out after ${timeout_seconds}s: a hang)"
    elif [[ $status -ne 0 ]]; then fail "$name (exit status $status)"
    elif grep -q '^FAIL' "$log"; then fail "$name"
    elif ! eval "$check"; then fail "$name (check failed: $check)"
    else pass "$name"; fi
}

# 1. Each rank on its own host.
run "placement: rank 0 in $ns_a, rank 1 in $ns_b" \
    'grep -qx "rank 0 $ns_a" "$log" && grep -qx "rank 1 $ns_b" "$log"' \
    "${mpirun_command[@]}" /bin/sh -c 'echo "rank $OMPI_COMM_WORLD_RANK $(ip netns identify $$)"'

# 2. The distributed layer across hosts.
run "dist-check verify across 2 hosts" 'grep -q "^ok" "$log"' \
    "${mpirun_command[@]}" "$dist_check" --mode verify

# 3. Data-parallel training across hosts == one process: scripts/mpi_train_check.sh with this
#    script's two-host mpirun as its launcher.
run "data-parallel training across 2 hosts == 1 process" true \
    "$repo/scripts/mpi_train_check.sh" "$binary" "${mpirun_command[@]}"

# 4. cluster/launch.sh across the two hosts: 1 slot per host and 2 cores per node -> 2 BLAS threads,
#    exported to both ranks, and the distributed layer still verifies.
launch_command=(timeout --kill-after=10 "$timeout_seconds" ip netns exec "$ns_a"
    "$repo/cluster/launch.sh" --hostfile "$dir/hostfile" --ranks 2 --cores-per-node 2 --net "$net.0/24"
    --mpirun-arg --mca --mpirun-arg plm_rsh_agent --mpirun-arg "$agent"
    --mpirun-arg --mca --mpirun-arg plm_rsh_no_tree_spawn --mpirun-arg 1
    --mpirun-arg --mca --mpirun-arg btl --mpirun-arg tcp,self --)
run "cluster/launch.sh across 2 hosts (2 BLAS threads per rank, dist-check verify)" \
    'grep -qx "rank 0 $ns_a threads 2" "$log" && grep -qx "rank 1 $ns_b threads 2" "$log" && grep -q "^dist-check verify: .* 0 failed" "$log"' \
    "${launch_command[@]}" /bin/sh -c 'echo "rank $OMPI_COMM_WORLD_RANK $(ip netns identify $$) threads $OPENBLAS_NUM_THREADS"; exec "$0" --mode verify' "$dist_check"

# 5. Two hosts x two ranks: the node layout (host name, boot id, network namespace) finds the two nodes, and every all-reduce algorithm
#    (hierarchical: inside each host, then across) equals the exact sums. TCP only: the namespace hosts share
#    /dev/shm and a host name, so Open MPI's shared-memory (vader) segments of the two hosts collide (it crashed).
printf '%s slots=2\n%s slots=2\n' "$addr_a" "$addr_b" >"$dir/hostfile2x2"
mpirun_2x2=(timeout --kill-after=10 "$timeout_seconds" ip netns exec "$ns_a"
    mpirun --hostfile "$dir/hostfile2x2" -np 4 --bind-to none
    --mca plm_rsh_agent "$agent" --mca plm_rsh_no_tree_spawn 1
    --mca btl tcp,self --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24"
    -x OPENBLAS_NUM_THREADS=1)
run "every all-reduce algorithm across 2 hosts x 2 ranks (hierarchical)" \
    'grep -q "^node layout: 2 nodes × 2 ranks" "$log" && grep -q "^ok hierarchical n=1000003 ranks=4 == expected" "$log" && grep -q "^dist-check verify: .* 0 failed" "$log"' \
    "${mpirun_2x2[@]}" "$dist_check" --mode verify

# The ranks had no path to each other but the veth link: its counters show the traffic it carried.
tx_bytes="$(ip netns exec "$ns_a" cat /sys/class/net/veth0/statistics/tx_bytes 2>/dev/null)"
rx_bytes="$(ip netns exec "$ns_a" cat /sys/class/net/veth0/statistics/rx_bytes 2>/dev/null)"
echo "== veth link $ns_a <-> $ns_b carried ${tx_bytes:-?} bytes out of $ns_a, ${rx_bytes:-?} bytes in"
if [[ ${tx_bytes:-0} -gt 8000000 && ${rx_bytes:-0} -gt 8000000 ]]; then pass "MPI traffic went over the veth link"
else fail "MPI traffic went over the veth link (expected > 8 MB each way)"; fi

finish
