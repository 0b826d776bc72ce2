#!/bin/sh
# The TLS material of a federation over the network (`fttrain federated serve|join`), made by
# `fttrain federated-keygen --tls-dir`: the federation's CA, and a certificate signed by it for the
# coordinator and for each site.
#
#   scripts/federated_tls.sh OUT_DIR coordinator hospital-a hospital-b ...
#
# writes OUT_DIR/ca.pem + ca.key (made if OUT_DIR has no CA, else reused; keep the CA key offline),
# and NAME.pem + NAME.key for each name (P-256 keys, mode 0600). Give each party its NAME.pem/NAME.key
# and everyone ca.pem:  network: {tls: {ca: ca.pem, cert: NAME.pem, key: NAME.key}}
# The name `coordinator` makes the server certificate, whose subject alternative names are
# COORDINATOR_HOSTS (the host names and IP addresses sites dial, space-separated; default
# "localhost 127.0.0.1"); the others are site (client) certificates. A certificate the CA did not
# sign is refused during the handshake.
# DAYS (default 825) sets the validity; FORCE=1 replaces existing pairs of the names given (never the
# CA); FTTRAIN is the fttrain binary (default: .build/debug/fttrain, else .build/release/fttrain).
# SELF_KEYED="hospital-c ..." names sites that make their own key and certificate request
# (`fttrain federated-keygen --site NAME --request-dir OUT/requests/NAME`, standing in for the site's
# own machine: OUT/requests/NAME/NAME.key never goes to the CA holder) and have the CA sign it
# (`fttrain federated-sign --tls-dir OUT --csr ...`, writing OUT/NAME.pem).
# With openssl installed, every certificate is cross-checked with `openssl verify` against ca.pem,
# every request with `openssl req -verify`, and a request made by openssl (CN=openssl-check, in a
# temporary CA directory) is signed by fttrain and verified by openssl.
set -eu
if [ $# -lt 2 ] && { [ $# -lt 1 ] || [ -z "${SELF_KEYED:-}" ]; }; then
    echo "usage: [SELF_KEYED='NAME...'] $0 OUT_DIR NAME [NAME...]" >&2
    exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$1; shift
binary=${FTTRAIN:-}
if [ -z "$binary" ]; then
    for candidate in "$repo/.build/debug/fttrain" "$repo/.build/release/fttrain"; do
        if [ -x "$candidate" ]; then binary=$candidate; break; fi
    done
fi
[ -n "$binary" ] || { echo "$0: no fttrain binary: run 'swift build --product fttrain' or set FTTRAIN" >&2; exit 2; }

names=$*
set -- federated-keygen --tls-dir "$out" --days "${DAYS:-825}"
[ "${FORCE:-0}" = 1 ] && set -- "$@" --force
for name in $names; do
    if [ "$name" = coordinator ]; then
        for host in ${COORDINATOR_HOSTS:-localhost 127.0.0.1}; do set -- "$@" --coordinator-host "$host"; done
    else
        set -- "$@" --site "$name"
    fi
done
if [ -n "$names" ]; then "$binary" "$@" >/dev/null; fi
force=
[ "${FORCE:-0}" = 1 ] && force=--force
for name in ${SELF_KEYED:-}; do
    "$binary" federated-keygen --site "$name" --request-dir "$out/requests/$name" $force >/dev/null
    "$binary" federated-sign --tls-dir "$out" --csr "$out/requests/$name/$name.csr" --output "$out/requests/$name/$name.pem" \
        --days "${DAYS:-825}" $force >/dev/null
done

if command -v openssl >/dev/null 2>&1; then
    for name in ${SELF_KEYED:-}; do
        openssl req -verify -noout -in "$out/requests/$name/$name.csr" 2>/dev/null ||
            { echo "$0: openssl does not verify the request $out/requests/$name/$name.csr" >&2; exit 1; }
        cmp -s "$out/$name.pem" "$out/requests/$name/$name.pem" || { echo "$0: $out/$name.pem differs from the site's copy" >&2; exit 1; }
    done
    # A request openssl made (P-256, CN only), signed by fttrain with a throwaway CA.
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$scratch/openssl-check.key" \
        -subj /CN=openssl-check -out "$scratch/openssl-check.csr" 2>/dev/null
    "$binary" federated-keygen --tls-dir "$scratch/ca" --site keygen-check >/dev/null
    "$binary" federated-sign --tls-dir "$scratch/ca" --csr "$scratch/openssl-check.csr" >/dev/null
    openssl verify -purpose sslclient -CAfile "$scratch/ca/ca.pem" "$scratch/ca/openssl-check.pem" >/dev/null ||
        { echo "$0: openssl does not accept the certificate fttrain signed from an openssl request" >&2; exit 1; }
    for name in $names ${SELF_KEYED:-}; do
        purpose=sslclient
        [ "$name" = coordinator ] && purpose=sslserver
        openssl verify -purpose "$purpose" -CAfile "$out/ca.pem" "$out/$name.pem" >/dev/null ||
            { echo "$0: openssl does not accept $out/$name.pem for $purpose" >&2; exit 1; }
    done
fi
echo "wrote $out/ca.pem and the certificates of: $names ${SELF_KEYED:-}" | tr -s ' '
