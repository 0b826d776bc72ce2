#!/usr/bin/env bash
# Ring all-reduce vs MPI_Allreduce at 2 ranks on this machine (shared memory), release build.
# Columns: the Swift ring (RingAllReduce over MPICommunicator); MPI_Allreduce with Open MPI's
# defaults; MPI_Allreduce forced to the ring algorithm (coll_tuned_allreduce_algorithm 5), which
# is much better than the default choice at large sizes. Each figure is the median over
# ITERATIONS runs of the slowest rank's time. A fair claim names which MPI setting it beats.
#
# Usage: scripts/bench_allreduce.sh   (env ITERATIONS, default 10; COUNTS, default "22700000 1000000")
set -eu
cd "$(dirname "$0")/.."
iterations="${ITERATIONS:-10}"
counts="${COUNTS:-22700000 1000000}"

swift build -c release --product fttrain >/dev/null
binary=".build/release/fttrain"
mpirun_command=(mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1)
tuned=(--mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 5)

field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }

printf '%-10s %-8s %9s %14s %14s %12s %12s\n' floats MB ring_ms mpi_default_ms mpi_ring5_ms default/ring ring5/ring
for count in $counts; do
    default_json="$("${mpirun_command[@]}" "$binary" dist-check --mode bench --count "$count" --iterations "$iterations" | grep '^{')"
    tuned_json="$("${mpirun_command[@]}" "${tuned[@]}" "$binary" dist-check --mode bench --count "$count" --iterations "$iterations" | grep '^{')"
    ring_ms="$(field ring_ms_median <<<"$default_json")"
    default_ms="$(field mpi_allreduce_ms_median <<<"$default_json")"
    tuned_ms="$(field mpi_allreduce_ms_median <<<"$tuned_json")"
    awk -v n="$count" -v r="$ring_ms" -v d="$default_ms" -v t="$tuned_ms" 'BEGIN {
        printf "%-10d %-8.1f %9.2f %14.2f %14.2f %12.2f %12.2f\n", n, n * 4 / 1e6, r, d, t, d / r, t / r }'
done
echo "(2 ranks, Open MPI $(mpirun --version 2>/dev/null | sed -n 's/.*Open MPI) //p' | head -1), median of $iterations iterations, slowest rank per iteration)"
