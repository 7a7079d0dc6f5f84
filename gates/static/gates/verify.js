// Offline verification of Linli health-code tokens: a mirror of healthcode/tokens.py
// (Verifier.verify), run against the gate's cached config (public keys + revocation list).
// Pure ESM: imported by the gate app in the browser and by gates/tests/js in Node 20.
//
// Token: "LL1:" + base64url(32-byte payload + 64-byte Ed25519 signature over DOMAIN + payload).
// Payload, big-endian: version u8 | kid 4 | subject 12 | colour u8 | issued u32 | expires u32 | serial 6.

export const PREFIX = "LL1:";
export const VERSION = 1;
export const PAYLOAD_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const TOKEN_BYTES = PAYLOAD_BYTES + SIGNATURE_BYTES;
export const CLOCK_SKEW_SECONDS = 60;
export const COLOURS = ["green", "yellow", "red"];
const DOMAIN = new TextEncoder().encode("linli-healthcode-v1");

export const Verdict = Object.freeze({
  VALID: "valid",
  EXPIRED: "expired",
  REVOKED: "revoked",
  FORGED: "forged",
  UNKNOWN_KEY: "unknown_key",
  MALFORMED: "malformed",
});

const STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const A2B = new Map(Array.from(STD_ALPHABET, (ch, i) => [ch, i]));

/**
 * Python's ``base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))`` as tokens.parse calls it:
 * "-" and "_" read as "+" and "/", other characters skipped, decoding stops at a complete pad,
 * and a dangling quad is an error (null here). CPython binascii.a2b_base64, non-strict mode.
 */
export function base64urlDecode(text) {
  let body = String(text);
  if (/[^\x00-\x7f]/.test(body)) return null; // Python: "only ASCII characters" (ValueError)
  body += "=".repeat((4 - (body.length % 4)) % 4);
  const out = [];
  let quadPos = 0;
  let left = 0;
  let pads = 0;
  for (const raw of body) {
    if (raw === "=") {
      if (quadPos >= 2 && quadPos + ++pads >= 4) return Uint8Array.from(out); // a complete pad: stop
      continue;
    }
    const value = A2B.get(raw === "-" ? "+" : raw === "_" ? "/" : raw);
    if (value === undefined) continue;
    pads = 0;
    if (quadPos === 0) {
      quadPos = 1;
      left = value;
    } else if (quadPos === 1) {
      quadPos = 2;
      out.push(((left << 2) | (value >> 4)) & 0xff);
      left = value & 0x0f;
    } else if (quadPos === 2) {
      quadPos = 3;
      out.push(((left << 4) | (value >> 2)) & 0xff);
      left = value & 0x03;
    } else {
      quadPos = 0;
      out.push(((left << 6) | value) & 0xff);
    }
  }
  return quadPos === 0 ? Uint8Array.from(out) : null;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// str.strip() in Python: its whitespace differs from String.prototype.trim's (\x1c-\x1f, \x85, not \ufeff).
const PY_SPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, "g");

function pythonStrip(text) {
  return text.replace(PY_STRIP, "");
}

/** {claims, payload, signature} of a well-formed token, or null (tokens.parse). */
export function parseToken(token) {
  if (typeof token !== "string" || !token.startsWith(PREFIX) || token.length > 200) return null;
  const raw = base64urlDecode(pythonStrip(token.slice(PREFIX.length)));
  if (raw === null || raw.length !== TOKEN_BYTES) return null;
  const payload = raw.slice(0, PAYLOAD_BYTES);
  const signature = raw.slice(PAYLOAD_BYTES);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const version = view.getUint8(0);
  const colour = view.getUint8(17);
  if (version !== VERSION || colour >= COLOURS.length) return null;
  const claims = {
    kid: hex(payload.slice(1, 5)),
    subject: hex(payload.slice(5, 17)),
    colour: COLOURS[colour],
    issued_at: view.getUint32(18, false),
    expires_at: view.getUint32(22, false),
    serial: hex(payload.slice(26, 32)),
  };
  return { claims, payload, signature };
}

// --- Ed25519: WebCrypto when it has Ed25519, else the vendored @noble/ed25519 -------------------

let webCryptoEd25519 = null; // null: not probed yet; then true / false
let nobleVerify = null;

async function probeWebCrypto() {
  if (webCryptoEd25519 !== null) return webCryptoEd25519;
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return (webCryptoEd25519 = false); // no secure context: no crypto.subtle at all
  try {
    // The base point's encoding: a valid public key every implementation must accept.
    const basePoint = new Uint8Array(32).fill(0x66);
    basePoint[0] = 0x58;
    await subtle.importKey("raw", basePoint, { name: "Ed25519" }, false, ["verify"]);
    webCryptoEd25519 = true;
  } catch {
    webCryptoEd25519 = false;
  }
  return webCryptoEd25519;
}

async function loadNoble() {
  if (nobleVerify === null) {
    const module = await import(new URL("./vendor/noble/ed25519.js", import.meta.url).href);
    nobleVerify = module.verify;
  }
  return nobleVerify;
}

/** Which implementation verifies signatures here: "webcrypto" or "noble". */
export async function ed25519Backend({ forceFallback = false } = {}) {
  return !forceFallback && (await probeWebCrypto()) ? "webcrypto" : "noble";
}

export async function ed25519Verify(publicKey, signature, message, { forceFallback = false } = {}) {
  if ((await ed25519Backend({ forceFallback })) === "webcrypto") {
    try {
      const key = await globalThis.crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      return await globalThis.crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    } catch {
      return false; // a key WebCrypto refuses (not a curve point) verifies nothing
    }
  }
  const verify = await loadNoble();
  try {
    return verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

// --- the verifier ------------------------------------------------------------------------------

/** Keys and revocations from a gate config document (GET /api/gates/<code>/config). */
export function verifierFromConfig(config) {
  const keys = new Map();
  for (const item of (config && config.keys) || []) {
    const raw = base64urlDecode(item.public_key || "");
    if (raw && raw.length === 32) {
      keys.set(item.kid, { publicKey: raw, signsUntil: item.signs_until ?? null, verifyUntil: item.verify_until ?? null });
    }
  }
  const revocations = (config && config.revocations) || {};
  return {
    keys,
    revokedSerials: new Set(revocations.serials || []),
    revokedSubjects: new Map(Object.entries(revocations.subjects || {})),
  };
}

/**
 * The verdict on ``token`` at unix time ``now`` (seconds), exactly as healthcode/tokens.py decides:
 * {verdict, claims (null when malformed), colour (only when valid)}.
 */
export async function verifyToken(token, verifier, now, options = {}) {
  const parsed = parseToken(token);
  if (parsed === null) return { verdict: Verdict.MALFORMED, claims: null, colour: null };
  const { claims, payload, signature } = parsed;
  const result = (verdict) => ({ verdict, claims, colour: verdict === Verdict.VALID ? claims.colour : null });
  const info = verifier.keys.get(claims.kid);
  if (!info) return result(Verdict.UNKNOWN_KEY);
  const message = new Uint8Array(DOMAIN.length + payload.length);
  message.set(DOMAIN, 0);
  message.set(payload, DOMAIN.length);
  if (!(await ed25519Verify(info.publicKey, signature, message, options))) return result(Verdict.FORGED);
  if (
    claims.expires_at <= claims.issued_at ||
    (info.signsUntil !== null && claims.issued_at > info.signsUntil + CLOCK_SKEW_SECONDS)
  ) {
    return result(Verdict.FORGED); // a retired key does not sign new tokens
  }
  if (now >= claims.expires_at + CLOCK_SKEW_SECONDS || claims.issued_at > now + CLOCK_SKEW_SECONDS) {
    return result(Verdict.EXPIRED);
  }
  if (info.verifyUntil !== null && now >= info.verifyUntil + CLOCK_SKEW_SECONDS) return result(Verdict.EXPIRED);
  if (verifier.revokedSerials.has(claims.serial)) return result(Verdict.REVOKED);
  const revokedBefore = verifier.revokedSubjects.get(claims.subject);
  if (revokedBefore !== undefined && revokedBefore !== null && claims.issued_at < revokedBefore) {
    return result(Verdict.REVOKED);
  }
  return result(Verdict.VALID);
}
