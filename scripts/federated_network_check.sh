#!/usr/bin/env bash
# Federation over the network, each party its own process in its own network namespace: the
# coordinator (`fttrain federated serve`) in one, three sites (`fttrain federated join`) in three
# others, each site joined to the coordinator by a veth pair (10.N.K.0/24; nothing is routed out).
# Mutual TLS with a CA made by scripts/federated_tls.sh (fttrain federated-keygen --tls-dir), the real MiniLM, synthetic data split by
# `fttrain partition`. Checks (a PASS/FAIL line each, then "N passed, M failed"):
#   1. the network federation's global adapter equals the MPI transport's (mpirun, same seed) byte
#      for byte, and its rounds.jsonl metrics are the same; meanwhile a site with a certificate of
#      another CA and a site signing with a key not in the registry are refused and logged, and change nothing;
#   2. bytes on the wire per site per round in rounds.jsonl = the signed adapter + 17 bytes per 1 MiB chunk;
#   3. kill -9 of a site mid-round: that round completes without it after the deadline, names it,
#      and the restarted site reports in a later round;
#   4. kill -9 of the coordinator after round 0, restarted with --resume: the sites reconnect and the
#      final adapter equals the uninterrupted run's;
#   5. a forged update signature and 6. a replayed update (from the earlier round) are refused and
#      logged: the result equals a run where that site died in that round;
#   7. secure aggregation with a site dropped mid-round: the same metrics as plain aggregation.
# Not part of scripts/test.sh (several minutes). Needs root (namespaces), mpirun and the MiniLM assets.
#   scripts/federated_network_check.sh [BINARY]   (default .build/debug/fttrain, built first)
#   env ROUND_DEADLINE (seconds, default 60), KEEP=1 keeps the run directory and its logs
set -u
cd "$(dirname "$0")/.."
repo="$(pwd)"
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 && $passed -gt 0 ]]; exit $?; }

if [[ $# -ge 1 ]]; then binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; else
    swift build --product fttrain >/dev/null || { fail "build"; finish; }
    binary="$repo/.build/debug/fttrain"
fi
model="$repo/.cache/models/all-MiniLM-L6-v2"
[[ -f $model/model.safetensors ]] || { fail "$model missing: run scripts/fetch_assets.sh"; finish; }
command -v ip >/dev/null || { fail "iproute2 (ip) is needed"; finish; }
deadline="${ROUND_DEADLINE:-60}"

dir="$(mktemp -d)"
chmod 755 "$dir"
net="10.$(( $$ % 200 + 20 ))"
coord_ns="ftfC$$"
site_ns=("ftf1$$" "ftf2$$" "ftf3$$")
created=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    for ns in "${created[@]}"; do
        local pids; pids="$(ip netns pids "$ns" 2>/dev/null)"
        if [[ -n $pids ]]; then kill -TERM $pids 2>/dev/null; sleep 1; kill -KILL $pids 2>/dev/null; fi
        ip netns delete "$ns" 2>/dev/null || echo "warning: could not delete network namespace $ns"
    done
    if [[ -n ${KEEP:-} ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
    exit $status
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM HUP

ip netns add "$coord_ns" || { fail "ip netns add (needs root)"; finish; }
created+=("$coord_ns")
ip -n "$coord_ns" link set lo up
for k in 1 2 3; do
    ns="${site_ns[$((k - 1))]}"
    ip netns add "$ns" || { fail "ip netns add $ns"; finish; }
    created+=("$ns")
    ip -n "$coord_ns" link add "vc$k" type veth peer name "vs$k" netns "$ns"
    ip -n "$coord_ns" addr add "$net.$k.1/24" dev "vc$k"
    ip -n "$ns" addr add "$net.$k.2/24" dev "vs$k"
    ip -n "$coord_ns" link set "vc$k" up
    ip -n "$ns" link set "vs$k" up
    ip -n "$ns" link set lo up
done
echo "== namespaces: coordinator $coord_ns, sites ${site_ns[*]} ($net.K.0/24 per site)"

cd "$dir"
{
    echo "label,text"
    for a in good great fine lovely superb; do for n in movie film story show; do echo "fresh,the $n was $a and I liked it"; done; done
    for a in bad awful dull boring weak; do for n in movie film story show; do echo "rotten,the $n was $a and I left early"; done; done
    for w in man woman boy girl dog; do for p in city village island house; do echo "plot,a $w travels to a $p to find a lost friend"; done; done
} >data.csv
"$binary" partition --input data.csv --sites 3 --dirichlet 1.0 --output-dir sites --seed 3 >/dev/null || { fail "partition"; finish; }
for s in 1 2 3; do "$binary" federated-keygen --site "site-$s" --key-file "$dir/site-$s.key" >"site-$s.pub" || exit 1; done
"$binary" federated-keygen --site site-1 --key-file "$dir/impostor.key" >/dev/null
FTTRAIN="$binary" "$repo/scripts/federated_tls.sh" tls coordinator site-1 site-2 site-3 >/dev/null || { fail "federated_tls.sh"; finish; }
FTTRAIN="$binary" "$repo/scripts/federated_tls.sh" rogue site-2 >/dev/null

# config OUT ROUNDS SECURE ROLE  — ROLE: mpi | serve | site-K[:CERT[:KEYFILE]]
config() {
    local role=$4
    cat <<EOF
model_dir: $model
output_dir: $dir/$1
validation_file: $dir/data.csv
peft: lora
lora_r: 4
learning_rate: 1.0e-3
num_train_epochs: 1
per_device_train_batch_size: 8
max_length: 32
seed: 5
federation:
  rounds: $2
  labels: [fresh, rotten, plot]
  min_sites: 2
  round_deadline: $deadline
  secure_aggregation: $3
  federation_id: network-check
sites:
EOF
    local name key
    for s in 1 2 3; do
        echo "  - name: site-$s"
        [[ $role == mpi ]] && echo "    ranks: [$s]"
        echo "    train_file: $dir/sites/site-$s.csv"
        key="$dir/site-$s.key"
        [[ $role == "site-$s:"*:* ]] && key="${role##*:}"
        sed "s#private_key_file: .*#private_key_file: $key#" "site-$s.pub"
    done
    case $role in
    mpi) ;;
    serve) printf 'network:\n  listen: 0.0.0.0:7450\n  tls: {ca: %s/tls/ca.pem, cert: %s/tls/coordinator.pem, key: %s/tls/coordinator.key}\n  heartbeat_seconds: 2\n  wait_for_sites: 300\n  rejoin_grace: 300\n' "$dir" "$dir" "$dir" ;;
    site-*)
        name="${role%%:*}"; k="${name#site-}"
        local cert="tls/$name" ca="tls/ca.pem"
        [[ $role == *:rogue* ]] && { cert="rogue/site-2"; ca="tls/ca.pem"; }
        printf 'network:\n  coordinator: %s.%s.1:7450\n  site: %s\n  tls: {ca: %s/%s, cert: %s/%s.pem, key: %s/%s.key}\n  heartbeat_seconds: 2\n  give_up_after: 120\n' \
            "$net" "$k" "$name" "$dir" "$ca" "$dir" "$cert" "$dir" "$cert" ;;
    esac
}

export OPENBLAS_NUM_THREADS=1
serve() {  # serve RUN ROUNDS SECURE [--resume]
    config "$1" "$2" "$3" serve >"$1.serve.yaml"
    ip netns exec "$coord_ns" "$binary" federated serve --config "$1.serve.yaml" ${4:-} >>"$1.serve.out" 2>>"$1.serve.log" &
    coord_pid=$!
}
join() {  # join RUN ROUNDS SECURE K [ROLE-SUFFIX] [FAULT]  → pid in site_pid[K]
    local suffix="${5:-}"
    local file="$1.site-$4${suffix//[:\/]/_}.yaml"
    config "$1" "$2" "$3" "site-$4$suffix" >"$file"
    FTTRAIN_FEDERATED_FAULT="${6:-}" ip netns exec "${site_ns[$(($4 - 1))]}" "$binary" federated join \
        --config "$file" >>"$1.site-$4.log" 2>&1 &
    site_pid[$4]=$!
}
wait_for() {  # wait_for FILE PATTERN SECONDS
    local end=$((SECONDS + $3))
    while ((SECONDS < end)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
    return 1
}
finish_run() {  # finish_run RUN: wait for the coordinator and the sites (the sites stop when told)
    local ok=0
    wait "$coord_pid" || ok=1
    for k in 1 2 3; do [[ -n ${site_pid[$k]:-} ]] && { timeout 120 tail --pid="${site_pid[$k]}" -f /dev/null; }; done
    [[ $ok == 0 && -f $1/adapter/adapter_model.safetensors ]]
}
declare -a site_pid

# --- 1, 2: byte equality with MPI; bad certificate and impostor refused meanwhile --------------------
config mpi 2 false mpi >mpi.yaml
mpirun --allow-run-as-root --oversubscribe -np 4 -x OPENBLAS_NUM_THREADS=1 "$binary" federated --config mpi.yaml >mpi.out 2>mpi.err \
    || { cat mpi.err; fail "mpirun fttrain federated (the MPI reference)"; finish; }
serve net 2 false
join net 2 false 2 ":rogue"; rogue_pid=${site_pid[2]}
join net 2 false 1 ":tls:$dir/impostor.key"; impostor_pid=${site_pid[1]}
sleep 2
for k in 1 2 3; do join net 2 false "$k"; done
if finish_run net; then
    kill "$rogue_pid" 2>/dev/null
    if cmp -s mpi/adapter/adapter_model.safetensors net/adapter/adapter_model.safetensors \
        && python3 - mpi/rounds.jsonl net/rounds.jsonl <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
keys = lambda r: {k: v for k, v in r.items() if k.startswith("eval_") or k in ("reported", "missing", "round")}
assert [keys(r) for r in a] == [keys(r) for r in b], ([keys(r) for r in a], [keys(r) for r in b])
PY
    then pass "network federation = MPI federation: global adapter byte for byte, rounds.jsonl metrics equal"
    else fail "the network federation's adapter or metrics differ from MPI's"; fi
    if grep -q "refused .*TLS" net.serve.log && grep -q "signature of the challenge" net.serve.log && ! kill -0 "$impostor_pid" 2>/dev/null; then
        pass "a certificate of another CA (TLS) and a site signing with a key not in the registry are refused and logged"
    else fail "bad certificate / impostor not refused as expected (see net.serve.log)"; cat net.serve.log; fi
    python3 - net/rounds.jsonl "$dir" <<'PY' && pass "bytes on the wire per site per round = signed adapter + 17 B per chunk" || fail "bytes on the wire"
import json, sys
rounds = [json.loads(l) for l in open(sys.argv[1])]
payload = 4 * (6 * 2 * (4 * 384 + 384 * 4) + 3 * 384 + 3)
for r in rounds:
    for site, n in r["bytes_sent"].items():
        assert payload + 64 + 17 < n < payload + 64 + 17 + 8192, (site, n, payload)
print("  bytes_sent per round:", [r["bytes_sent"] for r in rounds])
PY
else
    fail "network federation did not finish"; tail -20 net.serve.log
fi

# --- 3: kill -9 of a site mid-round ------------------------------------------------------------------
serve kill 3 false
for k in 1 2 3; do join kill 3 false "$k"; done
if wait_for kill.serve.log "round 0:" 900; then
    sleep 5; kill -9 "${site_pid[3]}"; site_pid[3]=""
    wait_for kill.serve.log "round 1:" 900
    join kill 3 false 3
fi
if finish_run kill && python3 - kill/rounds.jsonl <<'PY'
import json, sys
rounds = [json.loads(l) for l in open(sys.argv[1])]
assert "site-3" in rounds[1]["missing"] and "site-3" not in rounds[1]["reported"], rounds[1]
assert "site-3" in rounds[2]["reported"], rounds[2]
print("  round 1 missing:", rounds[1]["missing"])
PY
then pass "kill -9 of site-3 mid-round: round 1 went on without it (named), the restarted site reported in round 2"
else fail "kill -9 of a site"; tail -5 kill.serve.log; fi

# --- 4: kill -9 of the coordinator -------------------------------------------------------------------
serve restart 2 false
for k in 1 2 3; do join restart 2 false "$k"; done
if wait_for restart.serve.log "round 0:" 900; then
    kill -9 "$coord_pid"; wait "$coord_pid" 2>/dev/null
    sleep 1
    serve restart 2 false --resume
fi
if finish_run restart && grep -q "resuming after round 0" restart.serve.log \
    && cmp -s net/adapter/adapter_model.safetensors restart/adapter/adapter_model.safetensors; then
    pass "kill -9 of the coordinator, restarted with --resume: sites reconnected, adapter = the uninterrupted run's"
else fail "coordinator restart"; tail -5 restart.serve.log; fi

# --- 5, 6: forged and replayed updates; the reference: site-3 dies in round 1 -------------------------
run_fault() {  # run_fault RUN SECURE FAULT
    serve "$1" 2 "$2"
    for k in 1 2; do join "$1" 2 "$2" "$k"; done
    join "$1" 2 "$2" 3 "" "$3"
    finish_run "$1"
}
run_fault dies false exit-in-round:1 || fail "the run where site-3 dies in round 1"
for fault in forge replay; do
    if run_fault "$fault" false "$fault" && grep -q "site-3 (rejected: .*invalid signature" "$fault.serve.log" \
        && cmp -s dies/adapter/adapter_model.safetensors "$fault/adapter/adapter_model.safetensors"; then
        pass "a ${fault}d update from site-3 in round 1 is refused and logged; the result = site-3 absent from round 1"
    else fail "$fault"; grep "round 1" "$fault.serve.log"; fi
done

# --- 7: secure aggregation with a site dropped mid-round ---------------------------------------------
if run_fault secure true exit-in-round:1 && python3 - dies/metrics.json secure/metrics.json secure/rounds.jsonl <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
rounds = [json.loads(l) for l in open(sys.argv[3])]
assert rounds[1]["reported"] == ["site-1", "site-2"], rounds[1]
assert abs(a["eval_loss"] - b["eval_loss"]) < 1e-4, (a["eval_loss"], b["eval_loss"])
print(f"  eval_loss secure {b['eval_loss']:.6f} vs plain {a['eval_loss']:.6f}")
PY
then pass "secure aggregation with site-3 dropped in round 1: the masked sum is exact (metrics = plain aggregation's)"
else fail "secure aggregation with a dropped site"; fi
finish
