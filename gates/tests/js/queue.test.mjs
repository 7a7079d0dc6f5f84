// node --test: the gate app's outbox (gates/static/gates/queue.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { CheckQueue, MAX_BATCH, newClientId, syncQueue } from "../../static/gates/queue.js";

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
}

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const record = (n, extra = {}) => ({ client_id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, gate: "G1", ...extra });

test("client ids are version-4 UUIDs, with and without crypto.randomUUID", () => {
  assert.match(newClientId(), UUID4);
  const noRandomUUID = { getRandomValues: (a) => globalThis.crypto.getRandomValues(a) };
  const ids = new Set(Array.from({ length: 200 }, () => newClientId(noRandomUUID)));
  assert.equal(ids.size, 200);
  for (const id of ids) assert.match(id, UUID4);
});

test("a record is queued once per client_id and survives a reload", () => {
  const storage = new MemoryStorage();
  const queue = new CheckQueue(storage, "q");
  assert.equal(queue.add(record(1)), true);
  assert.equal(queue.add(record(1, { temperature: 36.5 })), false); // a double tap
  assert.equal(queue.add(record(2)), true);
  const reloaded = new CheckQueue(storage, "q");
  assert.equal(reloaded.size(), 2);
  assert.deepEqual(reloaded.all().map((r) => r.client_id), [record(1).client_id, record(2).client_id]);
  assert.equal(reloaded.all()[0].temperature, undefined); // the first record stands
  assert.throws(() => queue.add({ gate: "G1" }), TypeError);
});

test("only the client_ids the server answered for leave the queue", () => {
  const queue = new CheckQueue(new MemoryStorage(), "q");
  [1, 2, 3].forEach((n) => queue.add(record(n)));
  const removed = queue.settle([
    { client_id: record(1).client_id, status: "recorded" },
    { client_id: record(3).client_id, status: "rejected" },
    { client_id: "not-queued", status: "duplicate" },
  ]);
  assert.equal(removed, 2);
  assert.deepEqual(queue.all().map((r) => r.client_id), [record(2).client_id]);
});

test("a corrupt store reads as empty instead of breaking the app", () => {
  const storage = new MemoryStorage();
  storage.setItem("q", "{not json");
  assert.equal(new CheckQueue(storage, "q").size(), 0);
  storage.setItem("q", "[1,2]");
  assert.equal(new CheckQueue(storage, "q").size(), 0);
});

/** A fake server: idempotent by client_id like POST /api/gates/checks. */
function fakeServer({ failTimes = 0, lose = 0, refuse = null } = {}) {
  const recorded = new Map();
  const server = { calls: [], recorded };
  server.send = async (records) => {
    server.calls.push(records.map((r) => r.client_id));
    if (failTimes > 0) {
      failTimes--;
      throw new TypeError("Failed to fetch");
    }
    if (records.length > MAX_BATCH) return { status: 413, results: undefined };
    if (refuse && records.some((r) => r.client_id === refuse)) return { status: 422, results: undefined };
    const results = records.map((r) => {
      const status = recorded.has(r.client_id) ? "duplicate" : "recorded";
      recorded.set(r.client_id, (recorded.get(r.client_id) || 0) + 1);
      return { client_id: r.client_id, status };
    });
    if (lose > 0) {
      lose--;
      throw new TypeError("the reply was lost"); // recorded, but the phone never heard
    }
    return { status: 200, results };
  };
  return server;
}

test("sync sends everything in batches of at most 500", async () => {
  const queue = new CheckQueue(new MemoryStorage(), "q");
  for (let n = 0; n < 1203; n++) queue.add(record(n));
  const server = fakeServer();
  const { results, error } = await syncQueue(queue, server.send);
  assert.equal(error, null);
  assert.equal(results.length, 1203);
  assert.deepEqual(server.calls.map((c) => c.length), [500, 500, 203]);
  assert.equal(queue.size(), 0);
});

test("a failed sync keeps the queue, the next one sends it once more and nothing doubles", async () => {
  const queue = new CheckQueue(new MemoryStorage(), "q");
  [1, 2, 3].forEach((n) => queue.add(record(n)));
  const server = fakeServer({ failTimes: 1, lose: 1 });
  assert.equal((await syncQueue(queue, server.send)).error, "network"); // offline
  assert.equal(queue.size(), 3);
  assert.equal((await syncQueue(queue, server.send)).error, "network"); // recorded, reply lost
  assert.equal(queue.size(), 3);
  queue.add(record(4));
  const { results, error } = await syncQueue(queue, server.send);
  assert.equal(error, null);
  assert.equal(queue.size(), 0);
  assert.deepEqual(
    results.map((r) => r.status),
    ["duplicate", "duplicate", "duplicate", "recorded"],
  );
  // the server holds one record per client_id
  assert.deepEqual([...server.recorded.keys()].sort(), [1, 2, 3, 4].map((n) => record(n).client_id));
});

test("logged out: the queue waits", async () => {
  const queue = new CheckQueue(new MemoryStorage(), "q");
  queue.add(record(1));
  const { error } = await syncQueue(queue, async () => ({ status: 401 }));
  assert.equal(error, "auth");
  assert.equal(queue.size(), 1);
});

test("a server error or an answer naming nobody stops the sync without losing records", async () => {
  const queue = new CheckQueue(new MemoryStorage(), "q");
  queue.add(record(1));
  assert.equal((await syncQueue(queue, async () => ({ status: 502 }))).error, "server");
  assert.equal((await syncQueue(queue, async () => ({ status: 200, results: [] }))).error, "server");
  assert.equal(queue.size(), 1);
});

test("one record the server refuses outright is set aside; the others go through", async () => {
  const queue = new CheckQueue(new MemoryStorage(), "q");
  for (let n = 0; n < 40; n++) queue.add(record(n));
  const bad = record(17).client_id;
  const server = fakeServer({ refuse: bad });
  const { error, results } = await syncQueue(queue, server.send);
  assert.equal(error, null);
  assert.equal(queue.size(), 0);
  assert.equal(results.length, 39);
  assert.deepEqual(queue.parked().map((p) => [p.record.client_id, p.why]), [[bad, "422"]]);
  assert.ok(!server.recorded.has(bad));
});
