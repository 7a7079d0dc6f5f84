// Reading the QR code: the browser's own BarcodeDetector when it reads QR codes (Chrome on
// Android), else the vendored ponyfill (barcode-detector + zxing-wasm, loaded only when needed,
// its wasm served from our static files, never from a CDN).

let detectorPromise = null;

async function nativeDetector() {
  const Native = globalThis.BarcodeDetector;
  if (typeof Native !== "function") return null;
  try {
    const formats = await Native.getSupportedFormats();
    return formats.includes("qr_code") ? new Native({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}

/** One detector per page: {detector, native}. urls: {decoder (ponyfill module), wasm}. */
export function getDetector(urls) {
  if (detectorPromise === null) {
    detectorPromise = (async () => {
      const native = await nativeDetector();
      if (native) return { detector: native, native: true };
      const module = await import(urls.decoder);
      module.setZXingModuleOverrides({
        locateFile: (path, prefix) => (path.endsWith(".wasm") ? urls.wasm : prefix + path),
      });
      return { detector: new module.BarcodeDetector({ formats: ["qr_code"] }), native: false };
    })();
    detectorPromise.catch(() => {
      detectorPromise = null; // let a later attempt retry (e.g. the wasm failed to load)
    });
  }
  return detectorPromise;
}

export function cameraAvailable() {
  return Boolean(globalThis.navigator && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/** Scans the rear camera's picture until ``onCode(text)`` returns true (accepted). */
export class Scanner {
  constructor(video, urls) {
    this.video = video;
    this.urls = urls;
    this.stream = null;
    this.timer = null;
    this.running = false;
  }

  async start(onCode) {
    const { detector } = await getDetector(this.urls);
    this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    this.video.srcObject = this.stream;
    this.video.setAttribute("playsinline", "");
    this.video.muted = true;
    await this.video.play();
    this.running = true;
    const tick = async () => {
      if (!this.running) return;
      try {
        if (this.video.readyState >= 2) {
          const codes = await detector.detect(this.video);
          for (const code of codes) {
            if (this.running && code.rawValue && onCode(code.rawValue)) {
              this.stop();
              return;
            }
          }
        }
      } catch {
        // a frame the detector could not read: try the next one
      }
      if (this.running) this.timer = setTimeout(tick, 150);
    };
    tick();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
  }
}

/** The QR codes' texts in a photo (the fallback when the camera cannot stream). */
export async function readPhoto(file, urls) {
  const { detector } = await getDetector(urls);
  const source = typeof createImageBitmap === "function" ? await createImageBitmap(file) : file;
  const codes = await detector.detect(source);
  return codes.map((code) => code.rawValue).filter(Boolean);
}
