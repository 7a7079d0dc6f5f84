// The sampler's page at a live site (issue #6 item 2): step 1 the tube (its barcode scanned with the
// camera, read by a barcode gun into the field, or typed), step 2 each person's health code (QR,
// scanned with the gate app's scanner) or ID number. Each swab is posted to the page's JSON view;
// the server answers with the tube's fill, and a repeat of a swab is recorded once, so a swab whose
// answer was lost can simply be sent again. Every visible text comes translated from the page.

export const TUBE_FORMATS = ["code_128", "code_39", "code_93", "codabar", "ean_13", "itf", "qr_code", "data_matrix"];

export const fmt = (text, values = {}) =>
  String(text).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));

/** What to show for the server's answer to a swab: {kind, text, newTube, members, capacity}. */
export function outcomeView(body, T) {
  const counts = { tube: body.tube, members: body.members, capacity: body.capacity };
  const person = body.person || "";
  if (body.outcome === "recorded" || body.outcome === "duplicate") {
    const head = fmt(body.outcome === "recorded" ? T.recorded : T.duplicate, { person });
    const full = body.closed ? ` ${fmt(T.full, counts)}` : "";
    return { kind: body.outcome, text: head + full, newTube: Boolean(body.closed), ...counts };
  }
  const newTube = body.reason === "tube_closed" || body.reason === "tube_other_site";
  const text = [person, body.message || body.reason || T.server_error].filter(Boolean).join(" · ");
  return { kind: "rejected", text, newTube, ...counts };
}

/** A detector for tube labels (1D barcodes, or a QR / Data Matrix label): the browser's own when it
 * reads Code 128, else the vendored ponyfill, its wasm from our static files. */
export async function tubeDetector(urls) {
  const Native = globalThis.BarcodeDetector;
  if (typeof Native === "function") {
    try {
      const formats = (await Native.getSupportedFormats()).filter((f) => TUBE_FORMATS.includes(f));
      if (formats.includes("code_128")) return new Native({ formats });
    } catch {
      // fall through to the ponyfill
    }
  }
  const module = await import(urls.decoder);
  module.setZXingModuleOverrides({
    locateFile: (path, prefix) => (path.endsWith(".wasm") ? urls.wasm : prefix + path),
  });
  return new module.BarcodeDetector({ formats: TUBE_FORMATS });
}

async function detectIn(detector, file) {
  const source = typeof createImageBitmap === "function" ? await createImageBitmap(file) : file;
  return (await detector.detect(source)).map((code) => code.rawValue).filter(Boolean);
}

// --- the page ---------------------------------------------------------------------------------------

function start() {
  const T = JSON.parse(document.getElementById("sample-strings").textContent);
  const APP = JSON.parse(document.getElementById("sample-app-config").textContent);
  const urls = { decoder: APP.decoder_url, wasm: APP.wasm_url };
  const $ = (id) => document.getElementById(id);
  const steps = ["step-tube", "step-scanner", "step-people"];
  const state = { tube: null, members: 0, capacity: APP.pool_size, busy: false, mode: null, camera: null };
  let scanModule = null;
  let rules = null;

  const show = (step) => steps.forEach((id) => ($(id).hidden = id !== step));

  function notify(text, kind = "info", link = null) {
    const box = $("sample-alert");
    box.textContent = text;
    box.dataset.kind = kind;
    if (link) {
      const a = document.createElement("a");
      a.href = link;
      a.textContent = ` ${T.log_in}`;
      box.append(a);
    }
    box.hidden = !text;
  }

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith(`${APP.csrf_cookie}=`));
    if (cookie) return decodeURIComponent(cookie.slice(APP.csrf_cookie.length + 1));
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /** {status, body}; throws when the network fails or the server does not answer in 15 s. */
  async function request(url, payload) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 15_000);
    try {
      const init = { credentials: "same-origin", signal: controller.signal, headers: { Accept: "application/json" } };
      if (payload !== undefined) {
        init.method = "POST";
        init.headers["Content-Type"] = "application/json";
        init.headers["X-CSRFToken"] = csrfToken();
        init.body = JSON.stringify(payload);
      }
      const response = await fetch(url, init);
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      return { status: response.redirected ? 401 : response.status, body };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Shows the problem of a non-200 answer; true when there was one. */
  function failed(status, body) {
    if (status === 200) return false;
    if (status === 401 || status === 403) notify(T.auth_lost, "error", APP.login_url);
    else notify((body && body.detail) || T.server_error, "error");
    return true;
  }

  function renderTube() {
    $("tube-name").textContent = fmt(T.tube, { tube: state.tube });
    $("tube-count").textContent = `${state.members}/${state.capacity}`;
    const bar = $("tube-fill");
    bar.max = state.capacity || 1;
    bar.value = state.members;
  }

  function newTube(message, kind = "info") {
    state.tube = null;
    $("tube-code").value = "";
    show("step-tube");
    notify(message, kind);
  }

  async function chooseTube(raw) {
    const code = String(raw || "").trim();
    if (!code) return notify(T.need_tube, "error");
    try {
      const { status, body } = await request(`${APP.tube_url}?${new URLSearchParams({ tube: code })}`);
      if (failed(status, body)) return;
      if (body.message) return newTube(body.message, "error");
      Object.assign(state, { tube: code, members: body.members, capacity: body.capacity || APP.pool_size });
    } catch {
      return notify(T.network, "error");
    }
    notify("");
    $("swab-result").hidden = true;
    renderTube();
    show("step-people");
  }

  async function sendSwab(person) {
    if (state.busy || !state.tube) return;
    state.busy = true;
    const result = $("swab-result");
    result.hidden = false;
    result.dataset.kind = "sending";
    result.textContent = T.sending;
    try {
      const { status, body } = await request(APP.swab_url, { tube: state.tube, ...person });
      if (failed(status, body)) {
        result.hidden = true;
        return;
      }
      const view = outcomeView(body, T);
      if (view.newTube) return newTube(view.text, view.kind === "rejected" ? "error" : "done");
      Object.assign(state, { members: view.members, capacity: view.capacity || state.capacity });
      renderTube();
      notify("");
      result.dataset.kind = view.kind;
      result.textContent = view.text;
      $("id-number").value = "";
    } catch {
      result.dataset.kind = "rejected";
      result.textContent = T.network;
    } finally {
      state.busy = false;
    }
  }

  async function closeTube() {
    if (!state.members) return notify(T.nothing_to_close, "error");
    if (!window.confirm(fmt(T.confirm_close, state))) return;
    try {
      const { status, body } = await request(APP.close_url, { tube: state.tube });
      if (failed(status, body)) return;
      newTube(fmt(T.closed, { tube: body.code, members: body.members }), "done");
    } catch {
      notify(T.network, "error");
    }
  }

  // --- camera ---------------------------------------------------------------------------------------

  function stopCamera() {
    if (state.camera) state.camera.stop();
    state.camera = null;
  }

  function acceptTube(text) {
    stopCamera();
    show("step-tube");
    $("tube-code").value = text;
    chooseTube(text);
    return true;
  }

  function acceptCode(text) {
    if (!text.startsWith(APP.code_prefix)) {
      $("scan-hint").textContent = T.not_linli;
      return false;
    }
    stopCamera();
    show("step-people");
    sendSwab({ token: text });
    return true;
  }

  /** The tube's camera loop (the health code uses the gate app's Scanner). */
  async function tubeCamera(video, onCode) {
    const detector = await tubeDetector(urls);
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    video.srcObject = stream;
    await video.play();
    const camera = { running: true, timer: null };
    camera.stop = () => {
      camera.running = false;
      clearTimeout(camera.timer);
      stream.getTracks().forEach((track) => track.stop());
      video.srcObject = null;
    };
    const tick = async () => {
      if (!camera.running) return;
      try {
        if (video.readyState >= 2) {
          for (const code of await detector.detect(video)) {
            if (camera.running && code.rawValue && onCode(code.rawValue)) return;
          }
        }
      } catch {
        // a frame the detector could not read: try the next one
      }
      if (camera.running) camera.timer = setTimeout(tick, 150);
    };
    state.camera = camera;
    tick();
  }

  async function startScan(mode) {
    state.mode = mode;
    show("step-scanner");
    const hint = $("scan-hint");
    hint.textContent = T.camera_starting;
    try {
      scanModule = scanModule || (await import(APP.scan_url));
      if (!scanModule.cameraAvailable()) {
        hint.textContent = T.camera_unavailable;
        return;
      }
      const video = $("sample-video");
      if (mode === "tube") {
        await tubeCamera(video, acceptTube);
      } else {
        const scanner = new scanModule.Scanner(video, urls);
        state.camera = scanner;
        await scanner.start(acceptCode);
      }
      hint.textContent = mode === "tube" ? T.point_tube : T.point_code;
    } catch (error) {
      stopCamera();
      hint.textContent = error && error.name === "NotAllowedError" ? T.camera_denied : T.camera_unavailable;
    }
  }

  async function scanPhoto() {
    const input = $("scan-photo");
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    try {
      scanModule = scanModule || (await import(APP.scan_url));
      const texts =
        state.mode === "tube" ? await detectIn(await tubeDetector(urls), file) : await scanModule.readPhoto(file, urls);
      const accept = state.mode === "tube" ? acceptTube : acceptCode;
      if (!texts.length) $("scan-hint").textContent = T.no_code_in_photo;
      else if (!texts.some((text) => accept(text))) $("scan-hint").textContent = T.not_linli;
    } catch {
      $("scan-hint").textContent = T.no_code_in_photo;
    }
  }

  function cancelScan() {
    stopCamera();
    show(state.mode === "code" && state.tube ? "step-people" : "step-tube");
  }

  async function typedId(event) {
    event.preventDefault();
    try {
      rules = rules || (await import(APP.rules_url));
    } catch {
      rules = { normaliseIdNumber: (v) => String(v).trim().toUpperCase(), isValidIdNumber: () => true };
    }
    const number = rules.normaliseIdNumber($("id-number").value);
    const error = $("id-error");
    error.hidden = rules.isValidIdNumber(number);
    error.textContent = error.hidden ? "" : T.bad_id_number;
    if (error.hidden) sendSwab({ id_number: number });
  }

  $("tube-scan").addEventListener("click", () => startScan("tube"));
  $("tube-form").addEventListener("submit", (event) => {
    event.preventDefault();
    chooseTube($("tube-code").value);
  });
  document.querySelectorAll("[data-tube]").forEach((button) =>
    button.addEventListener("click", () => {
      $("tube-code").value = button.dataset.tube;
      chooseTube(button.dataset.tube);
    }),
  );
  $("code-scan").addEventListener("click", () => startScan("code"));
  $("id-form").addEventListener("submit", typedId);
  $("tube-close").addEventListener("click", closeTube);
  $("tube-change").addEventListener("click", () => newTube(""));
  $("scan-cancel").addEventListener("click", cancelScan);
  $("scan-photo").addEventListener("change", scanPhoto);
  show("step-tube");
}

if (typeof document !== "undefined" && document.getElementById("sample-app")) start();
