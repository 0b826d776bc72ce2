#!/usr/bin/env bash
# The cost model measured against itself across "hosts": two network namespaces joined by a veth
# pair (scripts/multinode_test.sh's way, scripts/netns_rsh_agent.sh as mpirun's remote shell), then
# `fttrain dist-bench` at 2 hosts x 1 rank and 2 hosts x 2 ranks. It fits α, β (in cache and from
# memory) and γ for the layout and prints every algorithm's measured and predicted time.
# TCP only (the namespaces share /dev/shm, which crashes Open MPI's shared-memory transport), so the
# two ranks of one "host" also talk TCP, over the host's own address. Both hosts share this
# machine's cores: with 2 ranks per host, 4 ranks run on 2 cores — say so beside any figure.
#
# Usage: scripts/dist_bench_multinode.sh [--release]   (default release; needs root and iproute2)
#   env LAYOUTS (default "2x1 2x2"), ITERATIONS (default 9), SIZES (dist-bench --sizes), TIMEOUT (s, default 900)
set -u
cd "$(dirname "$0")/.."
repo="$(pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product fttrain >/dev/null || { echo "FAIL: release build"; exit 1; }
binary="$repo/.build/release/fttrain"
agent="$repo/scripts/netns_rsh_agent.sh"
command -v ip >/dev/null || { echo "FAIL: the 'ip' command (iproute2) is missing: apt-get install -y iproute2"; exit 1; }

ns_a="fdA$$" ns_b="fdB$$"
net="10.232.$(( $$ % 250 + 1 ))"
addr_a="$net.1" addr_b="$net.2"
dir="$(mktemp -d)"
cleanup() {
    for ns in "$ns_a" "$ns_b"; do
        pids="$(ip netns pids "$ns" 2>/dev/null)"
        [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
        ip netns delete "$ns" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo interrupted; exit 130' INT TERM HUP
ip netns add "$ns_a" && ip netns add "$ns_b" &&
    ip -n "$ns_a" link add veth0 type veth peer name veth1 netns "$ns_b" &&
    ip -n "$ns_a" addr add "$addr_a/24" dev veth0 && ip -n "$ns_b" addr add "$addr_b/24" dev veth1 &&
    ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up &&
    ip -n "$ns_a" link set veth0 up && ip -n "$ns_b" link set veth1 up ||
    { echo "FAIL: could not create two namespaces and a veth pair (needs root or CAP_SYS_ADMIN)"; exit 1; }

export NETNS_RSH_MAP="$addr_a=$ns_a $addr_b=$ns_b"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
status=0
for layout in ${LAYOUTS:-2x1 2x2}; do
    per_host="${layout#*x}"
    printf '%s slots=%s\n%s slots=%s\n' "$addr_a" "$per_host" "$addr_b" "$per_host" >"$dir/hostfile"
    echo "== dist-bench, 2 hosts x $per_host ranks (veth, TCP), load $(cut -d' ' -f1-3 /proc/loadavg)"
    timeout --kill-after=10 "${TIMEOUT:-900}" ip netns exec "$ns_a" \
        mpirun --hostfile "$dir/hostfile" -np $((2 * per_host)) --bind-to none \
        --mca plm_rsh_agent "$agent" --mca plm_rsh_no_tree_spawn 1 \
        --mca btl tcp,self --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24" \
        -x OPENBLAS_NUM_THREADS=1 ${MPI_ARGS:-} \
        "$binary" dist-bench --iterations "${ITERATIONS:-9}" ${SIZES:+--sizes "$SIZES"} || status=1
done
exit $status
