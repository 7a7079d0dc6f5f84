// What the gate decides, shown at once (and the only decision when offline). The server is
// authoritative (gates/services.py _decide) and answers when the record syncs; this module mirrors
// its order of checks so the volunteer normally sees the same answer before the sync.
// Pure ESM, tested in Node (gates/tests/js).

export const Refusal = Object.freeze({
  IDENTITY: "identity",
  BAD_CODE: "bad_code",
  RED_CODE: "red_code",
  FEVER: "fever",
  YELLOW_CODE: "yellow_code",
  NO_MASK: "no_mask",
  EXIT_NOT_APPROVED: "exit_not_approved",
  ENTRY_CLOSED: "entry_closed",
});

export const Warning = Object.freeze({
  COLOUR_UNKNOWN: "colour_unknown", // an ID number offline: nobody can tell the colour
  YELLOW_OWN_COMPOUND: "yellow_own_compound", // yellow may only go home: check they live here
  CLOSURE_BUILDING: "closure_building", // one building is closed: check the person's building
  APPROVAL_UNKNOWN: "approval_unknown", // exit approval cannot be checked (ID number offline)
});

export const TEMPERATURE_RANGE = [34.0, 43.0];
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = "10X98765432";

/** people.identity.normalise_id_number */
export function normaliseIdNumber(raw) {
  return String(raw ?? "")
    .trim()
    .replace(/ /g, "")
    .toUpperCase();
}

/** people.identity.is_valid_id_number: shape, check character (GB 11643), plausible birth date. */
export function isValidIdNumber(raw, today = new Date()) {
  const number = normaliseIdNumber(raw);
  if (!/^[0-9]{17}[0-9X]$/.test(number)) return false;
  let total = 0;
  for (let i = 0; i < 17; i++) total += Number(number[i]) * WEIGHTS[i];
  if (CHECK_CHARS[total % 11] !== number[17]) return false;
  const [year, month, day] = [Number(number.slice(6, 10)), Number(number.slice(10, 12)), Number(number.slice(12, 14))];
  const born = new Date(Date.UTC(year, month - 1, day));
  if (born.getUTCFullYear() !== year || born.getUTCMonth() !== month - 1 || born.getUTCDate() !== day) return false;
  const todayUtc = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  return year >= 1890 && born.getTime() <= todayUtc;
}

/**
 * A typed temperature as the server stores it (one decimal), or null when empty;
 * NaN when it is not a number or outside TEMPERATURE_RANGE (the server would refuse the record).
 */
export function parseTemperature(raw) {
  const text = String(raw ?? "")
    .trim()
    .replace(",", ".");
  if (text === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return NaN;
  const rounded = Number(value.toFixed(1));
  return rounded >= TEMPERATURE_RANGE[0] && rounded <= TEMPERATURE_RANGE[1] ? rounded : NaN;
}

/** Closures of the gate's config in force at unix time ``now``. */
export function activeClosures(config, now) {
  return ((config && config.closures) || []).filter((c) => c.starts_at <= now && now < c.ends_at);
}

/**
 * The closure that applies to this person, as far as the gate can tell: {closure, certain} or null.
 * ``lookupClosure`` is the server's answer (the rule label, or null for none) when it was asked.
 */
export function applicableClosure(closures, lookupClosure) {
  if (lookupClosure !== undefined) {
    if (lookupClosure === null) return null;
    const known = closures.find((c) => c.rule_label === lookupClosure) || closures[0] || { rule: "", rule_label: lookupClosure };
    return { closure: known, certain: true };
  }
  const whole = closures.find((c) => !c.building);
  if (whole) return { closure: whole, certain: true };
  return closures.length ? { closure: closures[0], certain: false } : null;
}

/** May this subject leave now: true, false, or null when the gate cannot know (no subject). */
export function exitApproved(config, subject, now, lookupApproved = null) {
  if (lookupApproved !== null && lookupApproved !== undefined) return lookupApproved;
  if (!subject) return null;
  const until = ((config && config.approved_exit_subjects) || {})[subject];
  return until !== undefined && until > now;
}

/**
 * The gate's decision: {decision: "allow"|"refuse", refusal, fever, warnings}.
 *
 * facts: identityChecked, mask (bool); temperature (number|null); direction ("in"|"out"|"pass");
 * method ("code"|"id_number"); verdict (the token's, for a code); colour ("green"|"yellow"|"red"|null
 * when unknown); atOwnCompound (bool|null when unknown); threshold (°C); closure ({closure, certain}
 * or null, from applicableClosure: an uncertain one only warns); approved (true|false|null, from exitApproved).
 */
export function decide(facts) {
  const warnings = [];
  const fever = facts.temperature !== null && facts.temperature !== undefined && facts.temperature >= facts.threshold;
  const colour = facts.colour ?? null;
  if (colour === null) warnings.push(Warning.COLOUR_UNKNOWN);
  if (colour === "yellow" && (facts.atOwnCompound === null || facts.atOwnCompound === undefined)) {
    warnings.push(Warning.YELLOW_OWN_COMPOUND);
  }
  const closure = facts.closure || null;
  if (closure && !closure.certain) warnings.push(Warning.CLOSURE_BUILDING);
  let refusal = null;
  if (!facts.identityChecked) refusal = Refusal.IDENTITY;
  else if (facts.method === "code" && facts.verdict !== "valid") refusal = Refusal.BAD_CODE;
  else if (colour === "red") refusal = Refusal.RED_CODE;
  else if (fever) refusal = Refusal.FEVER;
  else if (colour === "yellow" && facts.atOwnCompound === false) refusal = Refusal.YELLOW_CODE;
  else if (!facts.mask) refusal = Refusal.NO_MASK;
  else if (closure && closure.certain && facts.approved !== true) {
    if (facts.direction === "out") {
      refusal = Refusal.EXIT_NOT_APPROVED;
      if (facts.approved === null || facts.approved === undefined) warnings.push(Warning.APPROVAL_UNKNOWN);
    } else if (facts.direction === "in" && closure.closure.rule === "sealed") {
      refusal = Refusal.ENTRY_CLOSED;
    }
  }
  return { decision: refusal ? "refuse" : "allow", refusal, fever, warnings };
}

// --- a check on the gate's screen: what the app knows, from the token and (online) the lookup --------
//
// check: {method: "code"|"id_number", verdict, claims (from verify.js), lookup (the answer of
// POST /api/gates/lookup, or null when offline), lookupDirection (the direction it was asked for)}.

/** The colour to act on: the server's current colour when it answered, else the token's (if valid). */
export function colourOf(check) {
  const lookup = check.lookup;
  if (lookup && lookup.person) return lookup.colour || null;
  return check.method === "code" && check.verdict === "valid" && check.claims ? check.claims.colour : null;
}

/** The token's verdict: the server's when it answered (it knows the newest revocations). */
export function verdictOf(check) {
  return check.lookup ? check.lookup.verdict : check.verdict;
}

/** The decision for ``record`` (as queued for POST /api/gates/checks), at unix time ``now``. */
export function decideCheck(check, record, config, now, fallbackThreshold = 37.3) {
  config = config || {};
  const lookup = check.lookup && check.lookup.person ? check.lookup : null;
  const closure = applicableClosure(activeClosures(config, now), lookup ? lookup.closure : undefined);
  const subject = check.claims ? check.claims.subject : null;
  const lookupApproved = lookup && record.direction === check.lookupDirection ? lookup.exit_approved : null;
  const outcome = decide({
    identityChecked: record.identity_checked,
    mask: record.mask,
    temperature: record.temperature,
    direction: record.direction,
    method: check.method,
    verdict: verdictOf(check),
    colour: colourOf(check),
    atOwnCompound: lookup && typeof lookup.lives_here === "boolean" ? lookup.lives_here : null,
    threshold: config.fever_threshold_c ?? fallbackThreshold,
    closure,
    approved: exitApproved(config, subject, now, lookupApproved),
  });
  if (check.lookup && !check.lookup.person) {
    // the server records no check of somebody it does not know: say so, and do not let through
    outcome.warnings.unshift("person_unknown");
    outcome.decision = "refuse";
  }
  return outcome;
}
