// The gate app (issue #5 item 4): scan a health code or type an ID number, record the 四必 and the
// direction, show the decision. Works through a network outage: codes verify on the phone with the
// cached keys and revocation list, records wait in the queue (localStorage) and sync when the
// network is back; the server ignores a record it already has (same client_id), so resending is safe.
// Every visible text comes translated from the page (json_script "gate-strings").

import { CheckQueue, newClientId, syncQueue } from "./queue.js";
import {
  activeClosures,
  colourOf,
  decideCheck,
  isValidIdNumber,
  normaliseIdNumber,
  parseTemperature,
  verdictOf,
} from "./rules.js";
import { Scanner, cameraAvailable, readPhoto } from "./scan.js";
import { verifierFromConfig, verifyToken } from "./verify.js";

const T = JSON.parse(document.getElementById("gate-strings").textContent);
const APP = JSON.parse(document.getElementById("gate-app-config").textContent);

const CONFIG_REFRESH_MS = 60_000;
const SYNC_EVERY_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;
const STALE_CONFIG_MINUTES = 10;
const RECENT_KEEP = 20;

const $ = (id) => document.getElementById(id);
const el = {
  online: $("gate-online"),
  queue: $("gate-queue"),
  keys: $("gate-keys"),
  closures: $("gate-closures"),
  alert: $("gate-alert"),
  steps: ["gate-start", "gate-scanner", "gate-id", "gate-check", "gate-outcome"].map($),
  video: $("gate-video"),
  scanHint: $("gate-scan-hint"),
  photo: $("gate-photo"),
  idForm: $("gate-id-form"),
  idNumber: $("gate-id-number"),
  idError: $("gate-id-error"),
  colour: $("gate-colour"),
  colourName: $("gate-colour-name"),
  verdict: $("gate-verdict"),
  person: $("gate-person"),
  source: $("gate-source"),
  notes: $("gate-notes"),
  form: $("gate-form"),
  formError: $("gate-form-error"),
  decision: $("gate-decision"),
  fever: $("gate-fever"),
  outcomeNotes: $("gate-outcome-notes"),
  outcomeStatus: $("gate-outcome-status"),
  recent: $("gate-recent"),
};

const fmt = (text, values = {}) => String(text).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));

// --- state ----------------------------------------------------------------------------------------

const queue = new CheckQueue(window.localStorage, `linli.gate.queue.u${APP.user}`);
const CONFIG_KEY = `linli.gate.config.${APP.gate}`;
const state = {
  config: null,
  fetchedAt: 0, // device ms when the config was fetched
  offset: 0, // server clock minus device clock, seconds (from the config's generated_at)
  verifier: verifierFromConfig(null),
  reachable: navigator.onLine,
  authLost: false,
  current: null, // the check on screen
  recent: [], // this session's checks (memory only: masked names are not kept on the phone)
  syncing: null,
};

// Time by the server's clock as last seen (a gate phone's clock may be off): ms and unix seconds.
const nowMs = () => Date.now() + state.offset * 1000;
const nowSeconds = () => Math.floor(nowMs() / 1000);
const online = () => navigator.onLine && state.reachable;

// --- network --------------------------------------------------------------------------------------

function csrfToken() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(`${APP.csrf_cookie}=`));
  if (cookie) return decodeURIComponent(cookie.slice(APP.csrf_cookie.length + 1));
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** {status, body}; rejects when the network fails or the server does not answer in time. */
async function request(url, payload) {
  if (!navigator.onLine) throw new Error("offline");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
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
    if (response.status === 401 || response.status === 403 || response.redirected) setAuthLost(true);
    else if (response.ok) setAuthLost(false);
    setReachable(true);
    return { status: response.redirected ? 401 : response.status, body };
  } catch (error) {
    setReachable(false);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function setReachable(value) {
  if (state.reachable !== value) {
    state.reachable = value;
    renderStatus();
  }
}

function setAuthLost(value) {
  if (state.authLost !== value) {
    state.authLost = value;
    renderStatus();
  }
}

// --- the gate's config: keys, revocations, closures, approved exits (cached for offline) ----------

function useConfig(doc, fetchedAt) {
  state.config = doc;
  state.fetchedAt = fetchedAt;
  state.offset = typeof doc.generated_at === "number" ? doc.generated_at - fetchedAt / 1000 : 0;
  state.verifier = verifierFromConfig(doc);
  renderStatus();
}

function loadCachedConfig() {
  try {
    const cached = JSON.parse(localStorage.getItem(CONFIG_KEY) || "null");
    if (cached && cached.doc && cached.doc.code === APP.gate) useConfig(cached.doc, cached.fetchedAt);
  } catch {
    localStorage.removeItem(CONFIG_KEY);
  }
}

async function refreshConfig() {
  try {
    const { status, body } = await request(APP.config_url);
    if (status === 200 && body && body.code === APP.gate) {
      const fetchedAt = Date.now();
      localStorage.setItem(CONFIG_KEY, JSON.stringify({ doc: body, fetchedAt }));
      useConfig(body, fetchedAt);
    }
  } catch {
    // offline: keep the cached config
  }
}

// --- rendering ------------------------------------------------------------------------------------

function show(step) {
  for (const section of el.steps) section.hidden = section.id !== step;
}

function setList(list, items) {
  list.replaceChildren(
    ...items.map(([text, kind]) => {
      const li = document.createElement("li");
      li.textContent = text;
      if (kind) li.className = kind;
      return li;
    }),
  );
}

function timeText(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderStatus() {
  const isOnline = online();
  el.online.textContent = isOnline ? T.online : T.offline;
  el.online.dataset.state = isOnline ? "online" : "offline";
  const waiting = queue.size();
  const parked = queue.parked().length;
  el.queue.textContent = waiting ? fmt(T.waiting, { n: waiting }) : T.all_synced;
  el.queue.dataset.state = waiting ? "waiting" : "done";
  if (state.syncing && waiting) el.queue.textContent += ` · ${T.syncing}`;
  if (!state.config) {
    el.keys.textContent = T.no_config;
    el.keys.className = "warn";
  } else {
    const minutes = (Date.now() - state.fetchedAt) / 60_000;
    el.keys.textContent = fmt(minutes > STALE_CONFIG_MINUTES ? T.config_stale : T.config_age, {
      time: timeText(state.fetchedAt),
    });
    el.keys.className = minutes > STALE_CONFIG_MINUTES ? "warn" : "muted";
  }
  const closures = state.config ? activeClosures(state.config, nowSeconds()) : [];
  setList(
    el.closures,
    closures.map((c) => [
      fmt(T.closure_banner, {
        rule: c.rule_label,
        building: c.building || T.whole_compound,
        until: new Date(c.ends_at * 1000).toLocaleString(),
        reason: c.reason,
      }),
      "closure",
    ]),
  );
  const alerts = [];
  if (state.authLost) alerts.push(T.auth_lost);
  if (parked) alerts.push(fmt(T.parked, { n: parked }));
  el.alert.hidden = alerts.length === 0;
  el.alert.replaceChildren(
    ...alerts.map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }),
  );
  if (state.authLost) {
    const link = document.createElement("a");
    link.href = APP.login_url;
    link.textContent = T.log_in;
    el.alert.append(link);
  }
}

function renderCheck() {
  const check = state.current;
  if (!check) return;
  const colour = colourOf(check);
  const verdict = verdictOf(check);
  el.colour.dataset.colour = colour || (check.method === "code" && verdict !== "valid" ? "bad" : "unknown");
  el.colourName.textContent = colour ? T.colours[colour] : check.method === "code" ? "" : T.colour_unknown;
  el.verdict.textContent = check.method === "code" ? T.verdicts[verdict] || verdict : T.by_id_number;
  el.person.textContent = check.lookup ? check.lookup.person || T.person_unknown : "";
  el.source.textContent = check.lookup ? T.checked_online : check.looking ? T.looking_up : T.checked_offline;
  el.source.dataset.offline = check.lookup ? "no" : "yes";
  const notes = [];
  if (check.method === "code" && !state.config) notes.push([T.no_config, "warn"]);
  if (check.method === "id_number" && !check.lookup) notes.push([T.colour_unknown_offline, "warn"]);
  if (check.lookup && check.lookup.closure) {
    notes.push([fmt(T.closure_person, { rule: check.lookup.closure }), "closure"]);
    if (check.lookup.exit_approved !== null) {
      notes.push([check.lookup.exit_approved ? T.exit_approved : T.exit_not_approved, "closure"]);
    }
  }
  setList(el.notes, notes);
}

function localDecision(check, record) {
  return decideCheck(check, record, state.config, nowSeconds(), APP.fever_threshold_c);
}

function renderOutcome(entry) {
  const server = entry.server;
  const notes = [];
  let decision;
  let reason = "";
  if (server && server.status === "rejected") {
    decision = "rejected";
    reason = fmt(T.rejected, { reason: T.rejects[server.reason] || server.reason });
  } else if (server) {
    decision = server.decision;
    reason = server.refusal_label || "";
    notes.push([server.status === "duplicate" ? T.duplicate : T.confirmed, "muted"]);
  } else {
    decision = entry.local.decision;
    reason = entry.local.refusal ? T.refusals[entry.local.refusal] : "";
    for (const warning of entry.local.warnings) notes.push([T.warnings[warning], "warn"]);
    notes.push([T.provisional, "muted"]);
  }
  el.decision.dataset.decision = decision;
  el.decision.replaceChildren();
  const head = document.createElement("div");
  head.className = "head";
  head.textContent = decision === "rejected" ? T.not_recorded : T.decisions[decision];
  el.decision.append(head);
  if (reason) {
    const why = document.createElement("div");
    why.className = "why";
    why.textContent = reason;
    el.decision.append(why);
  }
  const fever = server && server.status !== "rejected" ? server.fever : entry.local.fever;
  el.fever.hidden = !fever;
  if (fever) {
    el.fever.replaceChildren();
    const head = document.createElement("strong");
    head.textContent = T.fever;
    const detail = document.createElement("div");
    detail.textContent = fmt(T.fever_detail, {
      t: entry.record.temperature,
      threshold: state.config ? state.config.fever_threshold_c : APP.fever_threshold_c,
    });
    el.fever.append(head, detail);
    if (server && server.task) {
      const task = document.createElement("div");
      task.textContent = T.fever_task;
      el.fever.append(task);
    }
  }
  setList(el.outcomeNotes, notes);
  el.outcomeStatus.textContent = server ? "" : queue.has(entry.record.client_id) ? T.waiting_one : "";
}

function renderRecent() {
  el.recent.replaceChildren(
    ...state.recent.map((entry) => {
      const li = document.createElement("li");
      const server = entry.server;
      const decision = server ? (server.status === "rejected" ? "rejected" : server.decision) : entry.local.decision;
      li.dataset.decision = decision;
      const who = (server && server.person) || entry.person || "";
      const what = decision === "rejected" ? T.not_recorded : T.decisions[decision];
      const status = server
        ? server.status === "rejected"
          ? T.rejects[server.reason] || server.reason
          : T.recorded
        : T.waiting_one;
      li.textContent = [timeText(entry.at), who, T.directions[entry.record.direction], what, status]
        .filter(Boolean)
        .join(" · ");
      return li;
    }),
  );
}

// --- one check ------------------------------------------------------------------------------------

async function begin(method, value) {
  const check = {
    clientId: newClientId(),
    method,
    token: method === "code" ? value : null,
    idNumber: method === "id_number" ? value : null,
    verdict: null,
    claims: null,
    lookup: null,
    lookupDirection: null,
    looking: false,
  };
  if (method === "code") {
    const result = await verifyToken(value, state.verifier, nowSeconds());
    check.verdict = result.verdict;
    check.claims = result.claims;
  }
  state.current = check;
  el.form.reset();
  el.formError.hidden = true;
  setRecordEnabled(true);
  renderCheck();
  show("gate-check");
  lookup(check);
}

async function lookup(check) {
  if (!navigator.onLine || state.current !== check) return;
  const direction = el.form.elements.direction.value || "in";
  check.looking = true;
  renderCheck();
  try {
    const payload = { gate: APP.gate, direction };
    if (check.token) payload.token = check.token;
    else payload.id_number = check.idNumber;
    const { status, body } = await request(APP.lookup_url, payload);
    if (status === 200 && body) {
      check.lookup = body;
      check.lookupDirection = direction;
    }
  } catch {
    // offline: the colour from the token stands
  } finally {
    check.looking = false;
  }
  if (state.current === check) renderCheck();
}

function setRecordEnabled(enabled) {
  el.form.querySelector("button[type=submit]").disabled = !enabled;
}

function record(event) {
  event.preventDefault();
  const check = state.current;
  if (!check) return;
  const form = el.form.elements;
  const temperature = parseTemperature(form.temperature.value);
  if (Number.isNaN(temperature)) {
    el.formError.textContent = T.temperature_range;
    el.formError.hidden = false;
    return;
  }
  const rec = {
    client_id: check.clientId,
    gate: APP.gate,
    token: check.token,
    id_number: check.idNumber,
    direction: form.direction.value || "in",
    identity_checked: form.identity_checked.checked,
    temperature,
    mask: form.mask.checked,
    at: new Date(nowMs()).toISOString(),
    offline: !check.lookup,
  };
  let added;
  try {
    added = queue.add(rec);
  } catch {
    el.formError.textContent = T.storage_full; // localStorage refused the write: nothing was queued
    el.formError.hidden = false;
    return;
  }
  setRecordEnabled(false);
  if (added) {
    const entry = {
      record: rec,
      at: Date.now(),
      local: localDecision(check, rec),
      person: check.lookup ? check.lookup.person : "",
      server: null,
    };
    state.recent.unshift(entry);
    state.recent.length = Math.min(state.recent.length, RECENT_KEEP);
    check.entry = entry;
  }
  if (check.entry) renderOutcome(check.entry);
  show("gate-outcome");
  renderRecent();
  renderStatus();
  sync();
}

function reset() {
  scanner.stop();
  state.current = null;
  el.idForm.reset();
  el.idError.hidden = true;
  show("gate-start");
}

// --- sync -----------------------------------------------------------------------------------------

async function sendChecks(records) {
  const { status, body } = await request(APP.checks_url, { checks: records });
  return { status, results: body && body.results };
}

function applyResults(results) {
  const byId = new Map(results.map((r) => [r.client_id, r]));
  for (const entry of state.recent) {
    const result = byId.get(entry.record.client_id);
    if (result) entry.server = result;
  }
  const current = state.current && state.current.entry;
  if (current && byId.has(current.record.client_id) && !el.steps[4].hidden) renderOutcome(current);
}

function sync() {
  if (state.syncing) return state.syncing;
  if (queue.size() === 0 || !navigator.onLine) {
    renderStatus();
    return Promise.resolve();
  }
  const run = () => syncQueue(queue, sendChecks);
  state.syncing = (navigator.locks ? navigator.locks.request(`linli-gate-sync-u${APP.user}`, run) : run())
    .then(({ results }) => {
      applyResults(results);
    })
    .catch(() => {})
    .finally(() => {
      state.syncing = null;
      renderStatus();
      renderRecent();
      const entry = state.current && state.current.entry;
      if (entry && !el.steps[4].hidden) renderOutcome(entry);
    });
  renderStatus();
  return state.syncing;
}

// --- scanning and typing --------------------------------------------------------------------------

const scanner = new Scanner(el.video, { decoder: APP.decoder_url, wasm: APP.wasm_url });

function accept(text) {
  const value = String(text).trim();
  if (!value.startsWith("LL1:")) {
    el.scanHint.textContent = T.not_linli;
    return false;
  }
  begin("code", value);
  return true;
}

async function startScan() {
  show("gate-scanner");
  el.scanHint.textContent = T.camera_starting;
  if (!cameraAvailable()) {
    el.scanHint.textContent = T.camera_unavailable;
    return;
  }
  try {
    await scanner.start(accept);
    el.scanHint.textContent = T.point_camera;
  } catch (error) {
    scanner.stop();
    el.scanHint.textContent = error && error.name === "NotAllowedError" ? T.camera_denied : T.camera_unavailable;
  }
}

async function scanPhoto() {
  const file = el.photo.files && el.photo.files[0];
  el.photo.value = "";
  if (!file) return;
  try {
    const texts = await readPhoto(file, { decoder: APP.decoder_url, wasm: APP.wasm_url });
    if (!texts.length) el.scanHint.textContent = T.no_code_in_photo;
    else if (!texts.some((text) => accept(text))) el.scanHint.textContent = T.not_linli;
    else scanner.stop();
  } catch {
    el.scanHint.textContent = T.no_code_in_photo;
  }
}

function typed(event) {
  event.preventDefault();
  const number = normaliseIdNumber(el.idNumber.value);
  if (!isValidIdNumber(number)) {
    el.idError.textContent = T.bad_id_number;
    el.idError.hidden = false;
    return;
  }
  el.idError.hidden = true;
  begin("id_number", number);
}

// --- wiring ---------------------------------------------------------------------------------------

$("gate-scan").addEventListener("click", startScan);
$("gate-type").addEventListener("click", () => {
  show("gate-id");
  el.idNumber.focus();
});
$("gate-sync").addEventListener("click", () => {
  refreshConfig();
  sync();
});
el.photo.addEventListener("change", scanPhoto);
el.idForm.addEventListener("submit", typed);
el.form.addEventListener("submit", record);
el.form.addEventListener("change", (event) => {
  if (event.target.name === "direction" && state.current && online()) lookup(state.current);
});
document.querySelectorAll("[data-action=cancel], [data-action=next]").forEach((b) => b.addEventListener("click", reset));
window.addEventListener("online", () => {
  state.reachable = true;
  refreshConfig();
  sync();
});
window.addEventListener("offline", () => setReachable(false));
window.addEventListener("storage", (event) => {
  if (event.key === queue.key || event.key === CONFIG_KEY) {
    if (event.key === CONFIG_KEY) loadCachedConfig();
    renderStatus();
  }
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    refreshConfig();
    sync();
  } else {
    scanner.stop();
  }
});
setInterval(refreshConfig, CONFIG_REFRESH_MS);
setInterval(sync, SYNC_EVERY_MS);

if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker
    .register(APP.sw_url, { scope: APP.sw_scope })
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => registration.active && registration.active.postMessage({ type: "keep-page", url: location.pathname }))
    .catch(() => {});
}

loadCachedConfig();
renderStatus();
renderRecent();
show("gate-start");
refreshConfig().then(sync);
