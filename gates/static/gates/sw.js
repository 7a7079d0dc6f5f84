// The gate app's service worker, served at /gate/sw.js by gates.views_app.service_worker, which
// puts VERSION (changes with any shell file), SHELL (static URLs) and SCOPE ("/gate/") above this
// text. It keeps the app loadable without network: the static shell cache-first (a versioned
// cache, refilled on each new version), the gate pages network-first with the last good copy as
// the offline fallback. It never touches the API or any POST: the app itself caches the gate's
// config and queues records.
/* global VERSION, SHELL, SCOPE */

const SHELL_CACHE = `linli-gate-shell-${VERSION}`;
const PAGE_CACHE = "linli-gate-pages";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((k) => k.startsWith("linli-gate-shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k))),
      )
      .then(() => self.clients.claim()),
  );
});

function keepable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

async function pageNetworkFirst(request) {
  const cache = await caches.open(PAGE_CACHE);
  const key = new URL(request.url);
  key.search = "";
  try {
    const response = await fetch(request);
    if (keepable(response)) await cache.put(key.href, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key.href);
    if (cached) return cached;
    throw error;
  }
}

async function shellCacheFirst(request) {
  const cached = await caches.match(request, { ignoreSearch: true });
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname)) {
    event.respondWith(shellCacheFirst(request));
  } else if (request.mode === "navigate" && url.pathname.startsWith(SCOPE)) {
    event.respondWith(pageNetworkFirst(request));
  }
});

// The page asks to keep itself: its first load happened before this worker controlled it.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "keep-page" || typeof data.url !== "string") return;
  const url = new URL(data.url, self.location.origin);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  url.search = "";
  event.waitUntil(
    Promise.all([caches.open(PAGE_CACHE), fetch(url.href, { credentials: "same-origin" })])
      .then(([cache, response]) => (keepable(response) ? cache.put(url.href, response) : null))
      .catch(() => null),
  );
});
