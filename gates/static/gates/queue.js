// The gate's outbox: checks wait here (persisted, keyed by client_id) until the server has answered
// for them. POST /api/gates/checks is idempotent by client_id, so a batch may be resent after a lost
// reply; a record leaves the queue only when the server's answer names its client_id (any status).
// Pure ESM over a localStorage-like object (getItem/setItem), tested in Node (gates/tests/js).

export const MAX_BATCH = 500;

/** A version-4 UUID: crypto.randomUUID where it exists (secure contexts), else getRandomValues. */
export function newClientId(cryptoObject = globalThis.crypto) {
  if (cryptoObject && typeof cryptoObject.randomUUID === "function") return cryptoObject.randomUUID();
  const bytes = new Uint8Array(16);
  cryptoObject.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class CheckQueue {
  /**
   * storage: localStorage or anything with getItem/setItem; key: where this user's queue lives.
   * Every operation re-reads storage, so two tabs of the gate app share one queue.
   */
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
    this.parkedKey = `${key}.parked`;
  }

  _read(key) {
    try {
      const value = JSON.parse(this.storage.getItem(key) || "{}");
      return value && typeof value === "object" && !Array.isArray(value) ? value : {};
    } catch {
      return {};
    }
  }

  _write(key, records) {
    this.storage.setItem(key, JSON.stringify(records));
  }

  /** Records waiting, oldest first. */
  all() {
    return Object.values(this._read(this.key));
  }

  size() {
    return Object.keys(this._read(this.key)).length;
  }

  has(clientId) {
    return Object.hasOwn(this._read(this.key), clientId);
  }

  /** Queue a record; a second record with the same client_id (a double tap) is ignored: false. */
  add(record) {
    if (!record || typeof record.client_id !== "string" || !record.client_id) throw new TypeError("client_id");
    const records = this._read(this.key);
    if (Object.hasOwn(records, record.client_id)) return false;
    records[record.client_id] = record;
    this._write(this.key, records);
    return true;
  }

  /** The next records to send, at most ``max``, oldest first. */
  batch(max = MAX_BATCH) {
    return this.all().slice(0, max);
  }

  /** Drop the records the server answered for; returns how many left the queue. */
  settle(results) {
    const records = this._read(this.key);
    let removed = 0;
    for (const result of results || []) {
      if (result && Object.hasOwn(records, result.client_id)) {
        delete records[result.client_id];
        removed++;
      }
    }
    if (removed) this._write(this.key, records);
    return removed;
  }

  /** Set aside a record the server will not take in any form (it stays on the device, counted). */
  park(record, why) {
    const parked = this._read(this.parkedKey);
    parked[record.client_id] = { record, why: String(why) };
    this._write(this.parkedKey, parked);
    this.settle([{ client_id: record.client_id }]);
  }

  parked() {
    return Object.values(this._read(this.parkedKey));
  }
}

/**
 * Send the queue in batches. ``send(records)`` resolves to {status, results} (results: the parsed
 * answer's ``results`` when status is 200) and rejects on a network failure.
 *
 * Returns {results, error}: every answer received, and why it stopped early ("network" — offline,
 * "auth" — logged out, "server" — a 5xx; null when the queue is empty). A batch the server refuses
 * as a whole (400/413/422) is halved until the one bad record is found and parked, so one bad
 * record cannot hold up the rest.
 */
export async function syncQueue(queue, send, { batchSize = MAX_BATCH } = {}) {
  const results = [];
  let size = Math.max(1, Math.min(batchSize, MAX_BATCH));
  while (queue.size() > 0) {
    const batch = queue.batch(size);
    let reply;
    try {
      reply = await send(batch);
    } catch {
      return { results, error: "network" };
    }
    const status = reply && reply.status;
    if (status === 200) {
      const answered = (reply.results || []).filter((r) => r && batch.some((b) => b.client_id === r.client_id));
      results.push(...answered);
      if (queue.settle(answered) === 0) return { results, error: "server" }; // no progress: try later
    } else if (status === 401 || status === 403) {
      return { results, error: "auth" };
    } else if (status === 400 || status === 413 || status === 422) {
      if (batch.length > 1) size = Math.max(1, Math.floor(batch.length / 2));
      else queue.park(batch[0], status);
    } else {
      return { results, error: "server" };
    }
  }
  return { results, error: null };
}
