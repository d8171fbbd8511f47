#!/bin/bash
# Manual interop check (not run in CI): mlsec <-> the reference model_signing,
# run through ../shared/interop/model-signing-shim on Debian python3.
# Usage: MT_SRC=/path/to/model-transparency/src MLSEC=/path/to/mlsec ./check-reference.sh
: "${MT_SRC:?set MT_SRC to the reference src/ folder (git archive HEAD src of sigstore/model-transparency)}"
SHIM=${SHIM:-$(cd "$(dirname "$0")/../../.." && pwd)/../shared/interop/model-signing-shim}
export PYTHONPATH=$SHIM:$MT_SRC
PY=/usr/bin/python3
MLSEC=${MLSEC:-mlsec}
K=$(cd "$(dirname "$0")" && pwd)/model-transparency/scripts/tests/keys/certificate
W=$(mktemp -d); cd "$W"
openssl ecparam -name prime256v1 -genkey -noout -out p256.pem 2>/dev/null
openssl ec -in p256.pem -pubout -out p256.pub 2>/dev/null
mkmodel() { mkdir -p $1/sub/deep $1/.git; echo "weights $1" > $1/model.bin; echo cfg > $1/config.json; echo a > $1/sub/a-b; echo b > $1/sub/deep/x; echo y > $1/sub.txt; echo g > $1/.git/HEAD; }
res() { if [ $1 -eq 0 ]; then echo "PASS $2"; else echo "FAIL($1) $2"; fi; }
# Direction 1: mlsec signs, reference verifies.
mkmodel dir1; echo "single file model" > single1.bin
$MLSEC sign dir1 --key p256.pem --signature dir1/model.sig >/dev/null; res $? "mlsec sign key dir (P-256)"
$PY -m model_signing verify key dir1 --signature dir1/model.sig --public-key p256.pub >/dev/null 2>ref.err; res $? "reference verify key dir"
$MLSEC sign single1.bin --key $K/signing-key.pem --signature single1.sig >/dev/null; res $? "mlsec sign key single file (P-384)"
$PY -m model_signing verify key single1.bin --signature single1.sig --public-key $K/signing-key-pub.pem >/dev/null 2>>ref.err; res $? "reference verify key single file"
$MLSEC sign dir1 --certificate $K/signing-key-cert.pem --certificate-chain $K/int-ca-cert.pem --key $K/signing-key.pem --signature dir1.cert.sig >/dev/null; res $? "mlsec sign certificate dir"
$PY -m model_signing verify certificate dir1 --signature dir1.cert.sig --certificate-chain $K/ca-cert.pem >/dev/null 2>>ref.err; res $? "reference verify certificate dir"
$MLSEC sign single1.bin --certificate $K/signing-key-cert.pem --certificate-chain $K/int-ca-cert.pem --key $K/signing-key.pem --signature single1.cert.sig >/dev/null; res $? "mlsec sign certificate single file"
$PY -m model_signing verify certificate single1.bin --signature single1.cert.sig --certificate-chain $K/ca-cert.pem >/dev/null 2>>ref.err; res $? "reference verify certificate single file"
# Negative: tamper, the reference must refuse.
echo tampered >> dir1/sub/deep/x
$PY -m model_signing verify key dir1 --signature dir1/model.sig --public-key p256.pub >/dev/null 2>&1; [ $? -ne 0 ]; res $? "reference rejects mlsec-signed dir after tampering"
# Direction 2: reference signs, mlsec verifies.
mkmodel dir2; echo "another single" > single2.bin
$PY -m model_signing sign key dir2 --private-key p256.pem --signature dir2/model.sig >/dev/null 2>>ref.err; res $? "reference sign key dir"
$MLSEC verify dir2 --key p256.pub --signature dir2/model.sig >/dev/null; res $? "mlsec verify key dir"
$PY -m model_signing sign key single2.bin --private-key $K/signing-key.pem --signature single2.sig >/dev/null 2>>ref.err; res $? "reference sign key single file"
$MLSEC verify single2.bin --key $K/signing-key-pub.pem --signature single2.sig >/dev/null; res $? "mlsec verify key single file"
$PY -m model_signing sign certificate dir2 --private-key $K/signing-key.pem --signing-certificate $K/signing-key-cert.pem --certificate-chain $K/int-ca-cert.pem --signature dir2.cert.sig >/dev/null 2>>ref.err; res $? "reference sign certificate dir"
$MLSEC verify dir2 --ca-bundle $K/ca-cert.pem --signature dir2.cert.sig >/dev/null; res $? "mlsec verify certificate dir"
$PY -m model_signing sign certificate single2.bin --private-key $K/signing-key.pem --signing-certificate $K/signing-key-cert.pem --certificate-chain $K/int-ca-cert.pem --signature single2.cert.sig >/dev/null 2>>ref.err; res $? "reference sign certificate single file"
$MLSEC verify single2.bin --ca-bundle $K/ca-cert.pem --signature single2.cert.sig >/dev/null; res $? "mlsec verify certificate single file"
echo tampered >> dir2/config.json
$MLSEC verify dir2 --key p256.pub --signature dir2/model.sig >/dev/null; [ $? -eq 1 ]; res $? "mlsec rejects reference-signed dir after tampering (exit 1)"
# Digest agreement
mkmodel dir3
A=$($PY -m model_signing digest dir3 2>/dev/null); B=$($MLSEC digest dir3); [ "$A" = "$B" ]; res $? "digest agrees: $A"
