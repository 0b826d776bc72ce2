#!/usr/bin/env bash
# `fttrain select` under real MPI equals one process byte for byte: a tiny random BERT
# (scripts/make_tiny_bert.py) fine-tuned for 3 steps on synthetic 3-class rows, then a 61-row pool
# ranked by every strategy (least-confidence, margin, entropy, kcenter with and without --labeled,
# random) by one process and by `mpirun -np RANKS` (each rank scores its share of the batches, rank 0
# writes); the chosen rows, their scores and ranks must be the same bytes. Batches of 4 (16 batches,
# dealt unevenly) for every strategy, and of 64 (one batch: every rank but 0 scores nothing) for
# entropy and kcenter with --labeled.
#   scripts/mpi_select_check.sh BINARY      (env RANKS, default 2)
# Takes ~1 min with a debug binary on 2 busy cores (17 launches); called by scripts/mpi_test.sh.
set -u
cd "$(dirname "$0")/.."
binary="$1"
ranks=${RANKS:-2}
export OPENBLAS_NUM_THREADS=1
launcher=(mpirun --allow-run-as-root --oversubscribe -np "$ranks" -x OPENBLAS_NUM_THREADS=1)
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
words=(good great fine lovely bad awful dull weak the a movie film story show was is and it i liked left early
       man woman boy girl travels to find lost friend city village house)
python3 scripts/make_tiny_bert.py "$dir/base" "${words[@]}" --seed 7 || { echo "FAIL: scripts/make_tiny_bert.py"; exit 1; }
{
    echo "label,text"
    for a in good great fine lovely; do for n in movie film story show; do echo "fresh,the $n was $a and i liked it"; done; done
    for a in bad awful dull weak; do for n in movie film story show; do echo "rotten,the $n was $a and i left early"; done; done
    for w in man woman boy girl; do for p in city village house; do echo "plot,a $w travels to a $p to find a lost friend"; done; done
} >"$dir/train.csv"
"$binary" train --model-dir "$dir/base" --train-file "$dir/train.csv" --output-dir "$dir/run" --max-steps 3 \
    --per-device-train-batch-size 8 --learning-rate 1e-3 --max-length 16 --seed 3 --save-strategy no \
    >"$dir/train.log" 2>&1 || { cat "$dir/train.log"; echo "FAIL: training the tiny classifier"; exit 1; }
# The pool: 60 mixes of the words above and one short row (61 rows).
{
    echo "id,text"
    i=0
    for a in good dull lovely weak fine; do for n in movie story; do for w in man girl; do
        for tail in "and i liked it" "to find a lost friend" "and i left early"; do
            echo "$i,the $n was $a $w $tail"
            i=$((i + 1))
        done
    done; done; done
    echo "60,a boy travels to a village"
} >"$dir/pool.csv"
{
    echo "text"
    echo "the movie was good and i liked it"
    echo "a girl travels to a city"
} >"$dir/labeled.csv"
failures=0
checked=0
for batch in 4 64; do
    strategies=(least-confidence margin entropy kcenter random kcenter+labeled)
    ((batch == 4)) || strategies=(entropy kcenter+labeled)
    for strategy in "${strategies[@]}"; do
        flags=(select --model-dir "$dir/run/model" --pool "$dir/pool.csv" --budget 17 --max-length 16 --batch-size "$batch" --seed 11)
        case $strategy in
            kcenter+labeled) flags+=(--strategy kcenter --labeled "$dir/labeled.csv") ;;
            *) flags+=(--strategy "$strategy") ;;
        esac
        name="$strategy-$batch"
        "$binary" "${flags[@]}" --output "$dir/$name-np1.csv" >"$dir/$name-np1.log" 2>&1 \
            || { cat "$dir/$name-np1.log"; echo "FAIL: $name: one process"; failures=$((failures + 1)); continue; }
        "${launcher[@]}" "$binary" "${flags[@]}" --output "$dir/$name-mpi.csv" >"$dir/$name-mpi.log" 2>&1 \
            || { cat "$dir/$name-mpi.log"; echo "FAIL: $name: mpirun -np $ranks"; failures=$((failures + 1)); continue; }
        if [[ $(wc -l <"$dir/$name-np1.csv") != 18 ]]; then
            echo "FAIL: $name: $(wc -l <"$dir/$name-np1.csv") lines, expected a header and 17 rows"; failures=$((failures + 1))
        elif ! cmp -s "$dir/$name-np1.csv" "$dir/$name-mpi.csv"; then
            diff "$dir/$name-np1.csv" "$dir/$name-mpi.csv" | head -20
            echo "FAIL: $name: $ranks ranks chose other rows or scores than one process"; failures=$((failures + 1))
        else
            checked=$((checked + 1))
            echo "ok: $name: $ranks ranks = 1 process, byte for byte ($(sed -n 2p "$dir/$name-np1.csv" | cut -c1-60)...)"
        fi
    done
done
# The strategies must not all agree (else the comparison above would prove little).
if cmp -s "$dir/entropy-4-np1.csv" "$dir/kcenter-4-np1.csv" || cmp -s "$dir/kcenter-4-np1.csv" "$dir/kcenter+labeled-4-np1.csv"; then
    echo "FAIL: two strategies chose the same rows with the same scores"; failures=$((failures + 1))
fi
if ((failures)); then echo "mpi_select_check: $failures failure(s)"; exit 1; fi
echo "mpi_select_check: ok ($checked selections)"
