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
# With openssl installed, every certificate is cross-checked with `openssl verify` against ca.pem.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT_DIR NAME [NAME...]" >&2; exit 2; }
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
"$binary" "$@" >/dev/null

if command -v openssl >/dev/null 2>&1; then
    for name in $names; do
        purpose=sslclient
        [ "$name" = coordinator ] && purpose=sslserver
        openssl verify -purpose "$purpose" -CAfile "$out/ca.pem" "$out/$name.pem" >/dev/null ||
            { echo "$0: openssl does not accept $out/$name.pem for $purpose" >&2; exit 1; }
    done
fi
echo "wrote $out/ca.pem and the certificates of: $names"
