#!/usr/bin/env bash
# Ring all-reduce vs MPI_Allreduce on this machine (shared memory), release build, in one run.
# Columns: the Swift ring (RingAllReduce over MPICommunicator); MPI_Allreduce with Open MPI's
# defaults; MPI_Allreduce forced to Open MPI's segmented ring (coll_tuned_allreduce_algorithm 5).
# Each time is the median over ITERATIONS runs of the slowest rank's time; bandwidth is the bus
# bandwidth of nccl-tests (bytes × 2(n−1)/n ÷ time), comparable across rank counts. A fair claim
# names which MPI setting it beats.
# Then the share of a MiniLM training step (fttrain bench, 2 ranks × 1 thread, batch 16 × 128
# each) spent waiting for the gradient all-reduce, with the all-reduce overlapped with backward
# and after it.
#
# Usage: scripts/bench_allreduce.sh
#   env ITERATIONS (default 10), COUNTS (floats, default 1, 10 and 90 MB), RANKS (default "2 4 8"),
#   STEP_SHARE=0 skips the training-step part.
set -eu
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
iterations="${ITERATIONS:-10}"
counts="${COUNTS:-250000 2500000 22500000}"
ranks_list="${RANKS:-2 4 8}"

swift build -c release --product fttrain >/dev/null
swift build -c release --product fttrain-dist-check >/dev/null
binary=".build/release/fttrain"
dist_check=".build/release/fttrain-dist-check"
mpirun_command=(mpirun --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1)
tuned=(--mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 5)

field() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }

printf '%-5s %-7s %9s %9s %9s %10s %10s %10s %11s %11s\n' ranks MB ring_ms mpi_ms ring5_ms ring_GB/s mpi_GB/s ring5_GB/s mpi/ring ring5/ring
for ranks in $ranks_list; do
    for count in $counts; do
        default_json="$("${mpirun_command[@]}" -np "$ranks" "$dist_check" --mode bench --count "$count" --iterations "$iterations" | grep '^{')"
        tuned_json="$("${mpirun_command[@]}" -np "$ranks" "${tuned[@]}" "$dist_check" --mode bench --count "$count" --iterations "$iterations" | grep '^{')"
        ring_ms="$(field ring_ms_median <<<"$default_json")"
        default_ms="$(field mpi_allreduce_ms_median <<<"$default_json")"
        tuned_ms="$(field mpi_allreduce_ms_median <<<"$tuned_json")"
        awk -v p="$ranks" -v n="$count" -v r="$ring_ms" -v d="$default_ms" -v t="$tuned_ms" 'BEGIN {
            bytes = n * 4; bus = bytes * 2 * (p - 1) / p / 1e6   # MB moved per rank → GB/s with ms
            printf "%-5d %-7.1f %9.2f %9.2f %9.2f %10.2f %10.2f %10.2f %11.2f %11.2f\n", p, bytes / 1e6, r, d, t,
                   bus / r, bus / d, bus / t, d / r, t / r }'
    done
done
echo "(Open MPI $(mpirun --version 2>/dev/null | sed -n 's/.*Open MPI) //p' | head -1), median of $iterations iterations, slowest rank per iteration; mpi = default settings, ring5 = tuned algorithm 5)"

[[ ${STEP_SHARE:-1} == 0 ]] && exit 0
model=.cache/models/all-MiniLM-L6-v2
[[ -f $model/model.safetensors ]] || scripts/fetch_assets.sh >/dev/null
echo
printf '%-22s %12s %16s %14s %12s\n' "MiniLM step, 2 x 1" step_ms allreduce_wait_ms wait_share samples/s
for overlap in true false; do
    json="$("${mpirun_command[@]}" -np 2 "$binary" bench --model-dir "$model" --mode full --batch 16 --threads 1 \
        --steps "${STEPS:-8}" --overlap "$overlap" | grep '^{' | sed 's/,/, /g; s/:/: /g')"
    awk -v o="$overlap" -v s="$(field step_ms_median <<<"$json")" -v w="$(field allreduce_wait_ms_median <<<"$json")" \
        -v f="$(field allreduce_wait_share <<<"$json")" -v t="$(field samples_per_s <<<"$json")" 'BEGIN {
        printf "%-22s %12.0f %16.1f %13.1f%% %12.2f\n", (o == "true" ? "overlapped" : "after backward"), s, w, f * 100, t }'
done
