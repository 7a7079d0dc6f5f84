#!/usr/bin/env bash
# Fetch the gate app's browser libraries from npm and build them into single ESM files under
# gates/static/gates/vendor/ (issue #5 item 4). Nothing here runs at runtime or in CI: the built
# files are committed, and this script documents (and repeats) how they were made.
#
#   scripts/vendor_gate_js.sh          # needs node >= 20 and npm; writes gates/static/gates/vendor/
#
# Bump a version below, rerun, update gates/static/gates/vendor/README.md, run the gate tests.
set -euo pipefail

BARCODE_DETECTOR=3.2.2   # BarcodeDetector ponyfill (Sec-ant/barcode-detector), built on zxing-wasm
ZXING_WASM=3.1.3         # must be the version barcode-detector pins (its wasm checksum is checked below)
NOBLE_ED25519=3.2.0      # Ed25519 fallback when WebCrypto lacks Ed25519 (paulmillr/noble-ed25519)
NOBLE_HASHES=2.4.0       # SHA-512 for it, so it also works outside a secure context
ESBUILD=0.28.2

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/gates/static/gates/vendor"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact \
  "barcode-detector@$BARCODE_DETECTOR" "zxing-wasm@$ZXING_WASM" \
  "@noble/ed25519@$NOBLE_ED25519" "@noble/hashes@$NOBLE_HASHES" "esbuild@$ESBUILD"

pinned=$(node -p 'require("./node_modules/barcode-detector/package.json").dependencies["zxing-wasm"]')
if [ "$pinned" != "$ZXING_WASM" ]; then
  echo "barcode-detector $BARCODE_DETECTOR wants zxing-wasm $pinned, not $ZXING_WASM" >&2
  exit 1
fi

cat > barcode-entry.mjs <<'JS'
export { BarcodeDetector, setZXingModuleOverrides, ZXING_WASM_VERSION, ZXING_WASM_SHA256 } from "barcode-detector/ponyfill";
JS
cat > ed25519-entry.mjs <<'JS'
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";

ed.hashes.sha512 = sha512;

/** Strict RFC 8032 verification (zip215: false), as OpenSSL does on the server. */
export function verify(signature, message, publicKey) {
  return ed.verify(signature, message, publicKey, { zip215: false });
}
JS

build() {
  ./node_modules/.bin/esbuild "$1" --bundle --format=esm --target=es2020 --legal-comments=inline \
    --banner:js="/* $2 — bundled by scripts/vendor_gate_js.sh; see ../README.md */" --outfile="$3"
}

# Replace the built files; README.md and zxing-wasm/LICENSE.Apache-2.0 (the licence of zxing-cpp, which
# the wasm is compiled from; the npm package only links to it) are kept as they are.
mkdir -p "$OUT/barcode-detector" "$OUT/zxing-wasm" "$OUT/noble"
rm -f "$OUT/barcode-detector/barcode-detector.js" "$OUT/zxing-wasm/zxing_reader.wasm" "$OUT/noble/ed25519.js"

build barcode-entry.mjs "barcode-detector@$BARCODE_DETECTOR (ponyfill) + zxing-wasm@$ZXING_WASM reader glue" \
  "$OUT/barcode-detector/barcode-detector.js"
build ed25519-entry.mjs "@noble/ed25519@$NOBLE_ED25519 + @noble/hashes@$NOBLE_HASHES (sha512)" "$OUT/noble/ed25519.js"

cp node_modules/zxing-wasm/dist/reader/zxing_reader.wasm "$OUT/zxing-wasm/"
cp node_modules/barcode-detector/LICENSE "$OUT/barcode-detector/LICENSE"
cp node_modules/zxing-wasm/LICENSE "$OUT/zxing-wasm/LICENSE"
cp node_modules/@noble/ed25519/LICENSE "$OUT/noble/LICENSE.noble-ed25519"
cp node_modules/@noble/hashes/LICENSE "$OUT/noble/LICENSE.noble-hashes"

# The wasm must be the one the ponyfill was built for (it publishes the checksum it expects).
expected=$(node --input-type=module -e "import('$OUT/barcode-detector/barcode-detector.js').then(m => console.log(m.ZXING_WASM_SHA256))")
actual=$(sha256sum "$OUT/zxing-wasm/zxing_reader.wasm" | cut -d' ' -f1)
if [ "$expected" != "$actual" ]; then
  echo "zxing_reader.wasm sha256 $actual, the ponyfill expects $expected" >&2
  exit 1
fi

(cd "$OUT" && sha256sum barcode-detector/barcode-detector.js zxing-wasm/zxing_reader.wasm noble/ed25519.js)
echo "vendored into $OUT"
