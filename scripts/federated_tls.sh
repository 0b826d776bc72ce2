#!/bin/sh
# The TLS material of a federation over the network (`fttrain federated serve|join`): the
# federation's CA, and a certificate signed by it for the coordinator and for each site.
#
#   scripts/federated_tls.sh OUT_DIR coordinator hospital-a hospital-b ...
#
# writes OUT_DIR/ca.pem + ca.key (keep the CA key offline), and NAME.pem + NAME.key for each name
# (P-256 keys, mode 0600). Give each site its NAME.pem/NAME.key and everyone ca.pem:
#   network: {tls: {ca: ca.pem, cert: NAME.pem, key: NAME.key}}
# A certificate the CA did not sign is refused during the handshake. DAYS (default 825) sets the validity.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT_DIR NAME [NAME...]" >&2; exit 2; }
out=$1; shift
days=${DAYS:-825}
mkdir -p "$out"
umask 077
if [ ! -f "$out/ca.key" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key"
    openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days" -subj "/CN=fttrain federation CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$out/ca.pem" 2>/dev/null
fi
for name in "$@"; do
    openssl ecparam -name prime256v1 -genkey -noout -out "$out/$name.key"
    openssl req -new -key "$out/$name.key" -subj "/CN=$name" -out "$out/$name.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s\n' "$name" > "$out/$name.ext"
    openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -sha256 \
        -days "$days" -extfile "$out/$name.ext" -out "$out/$name.pem" 2>/dev/null
    rm -f "$out/$name.csr" "$out/$name.ext"
done
rm -f "$out/ca.srl"
chmod 644 "$out"/*.pem
echo "wrote $out/ca.pem and the certificates of: $*"
