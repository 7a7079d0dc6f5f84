// Read the QR codes in PNG files through the gate app's scanner module (gates/static/gates/scan.js)
// with the vendored ponyfill and wasm, as a browser without BarcodeDetector would: the wasm is
// fetched from the URL the app passes (served here from the vendored file). Prints JSON:
// {"wasm_requests": [...urls], "texts": [[...], ...]}.
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const vendor = new URL("../../static/gates/vendor/", import.meta.url);
const WASM_URL = "/static/gates/vendor/zxing-wasm/zxing_reader.wasm";
const wasmRequests = [];

// What a browser offers and Node 20 lacks; no BarcodeDetector, so scan.js must use the ponyfill.
globalThis.DOMRectReadOnly ??= class {
  constructor(x, y, width, height) {
    Object.assign(this, { x, y, width, height });
  }
};
delete globalThis.BarcodeDetector;
globalThis.fetch = async (url) => {
  wasmRequests.push(String(url));
  if (String(url) !== WASM_URL) return new Response("not found", { status: 404 });
  const bytes = await readFile(fileURLToPath(new URL("zxing-wasm/zxing_reader.wasm", vendor)));
  return new Response(bytes, { headers: { "Content-Type": "application/wasm" } });
};

const { getDetector, readPhoto } = await import("../../static/gates/scan.js");
const urls = { decoder: pathToFileURL(fileURLToPath(new URL("barcode-detector/barcode-detector.js", vendor))).href, wasm: WASM_URL };
const texts = [];
for (const path of process.argv.slice(2)) {
  const blob = new Blob([await readFile(path)], { type: "image/png" });
  texts.push(await readPhoto(blob, urls));
}
const { native } = await getDetector(urls);
process.stdout.write(JSON.stringify({ native, wasm_requests: wasmRequests, texts }));
