// node --test: the gate's local decision (gates/static/gates/rules.js), mirroring gates/services.py _decide.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Refusal,
  Warning,
  activeClosures,
  applicableClosure,
  decide,
  decideCheck,
  exitApproved,
  isValidIdNumber,
  normaliseIdNumber,
  parseTemperature,
} from "../../static/gates/rules.js";

const base = {
  identityChecked: true,
  mask: true,
  temperature: 36.5,
  direction: "in",
  method: "code",
  verdict: "valid",
  colour: "green",
  atOwnCompound: null,
  threshold: 37.3,
  closure: null,
  approved: null,
};
const refusal = (facts) => decide({ ...base, ...facts }).refusal;

test("a green, valid, masked, identified person without fever is let through", () => {
  assert.deepEqual(decide(base), { decision: "allow", refusal: null, fever: false, warnings: [] });
});

test("the refusals come in the server's order", () => {
  assert.equal(refusal({ identityChecked: false, colour: "red", mask: false }), Refusal.IDENTITY);
  assert.equal(refusal({ verdict: "expired", colour: "red" }), Refusal.BAD_CODE);
  assert.equal(refusal({ verdict: "revoked" }), Refusal.BAD_CODE);
  assert.equal(refusal({ colour: "red", temperature: 39 }), Refusal.RED_CODE);
  assert.equal(refusal({ temperature: 37.3, mask: false }), Refusal.FEVER);
  assert.equal(refusal({ temperature: 37.2 }), null);
  assert.equal(refusal({ colour: "yellow", atOwnCompound: false, mask: false }), Refusal.YELLOW_CODE);
  assert.equal(refusal({ colour: "yellow", atOwnCompound: true }), null);
  assert.equal(refusal({ mask: false }), Refusal.NO_MASK);
});

test("fever is flagged (referral) even when another reason refuses first", () => {
  const result = decide({ ...base, colour: "red", temperature: 38.1 });
  assert.equal(result.refusal, Refusal.RED_CODE);
  assert.equal(result.fever, true);
  assert.equal(decide({ ...base, temperature: null }).fever, false);
});

test("an ID number offline: no verdict needed, the colour is unknown", () => {
  const result = decide({ ...base, method: "id_number", verdict: null, colour: null });
  assert.equal(result.decision, "allow");
  assert.deepEqual(result.warnings, [Warning.COLOUR_UNKNOWN]);
});

test("yellow where the gate cannot tell the person's compound warns", () => {
  const result = decide({ ...base, colour: "yellow" });
  assert.equal(result.decision, "allow");
  assert.deepEqual(result.warnings, [Warning.YELLOW_OWN_COMPOUND]);
});

const NOW = 1_800_000_000;
const closure = (extra = {}) => ({ rule: "in_only", rule_label: "In only", starts_at: NOW - 3600, ends_at: NOW + 3600, building: null, reason: "case", ...extra });

test("closed management: out needs an approval, sealed also refuses in, passing is not checked", () => {
  const whole = applicableClosure([closure()]);
  assert.equal(refusal({ closure: whole, direction: "out", approved: false }), Refusal.EXIT_NOT_APPROVED);
  assert.equal(refusal({ closure: whole, direction: "out", approved: true }), null);
  assert.equal(refusal({ closure: whole, direction: "in", approved: false }), null);
  assert.equal(refusal({ closure: whole, direction: "pass", approved: false }), null);
  const sealed = applicableClosure([closure({ rule: "sealed", rule_label: "Sealed" })]);
  assert.equal(refusal({ closure: sealed, direction: "in", approved: false }), Refusal.ENTRY_CLOSED);
  assert.equal(refusal({ closure: sealed, direction: "in", approved: true }), null);
  assert.equal(refusal({ closure: sealed, direction: "pass", approved: false }), null);
  assert.equal(refusal({ closure: sealed, direction: "out", approved: false }), Refusal.EXIT_NOT_APPROVED);
  const unknown = decide({ ...base, closure: whole, direction: "out", approved: null });
  assert.equal(unknown.refusal, Refusal.EXIT_NOT_APPROVED);
  assert.ok(unknown.warnings.includes(Warning.APPROVAL_UNKNOWN));
  // the earlier checks come first
  assert.equal(refusal({ closure: whole, direction: "out", approved: false, mask: false }), Refusal.NO_MASK);
});

test("a closure of one building only warns: the gate cannot tell where the person lives", () => {
  const building = applicableClosure([closure({ building: "3栋" })]);
  assert.equal(building.certain, false);
  const result = decide({ ...base, closure: building, direction: "out", approved: false });
  assert.equal(result.refusal, null);
  assert.deepEqual(result.warnings, [Warning.CLOSURE_BUILDING]);
  // the server's lookup knows: its closure label makes it certain, null means none applies
  assert.equal(applicableClosure([closure({ building: "3栋" })], "In only").certain, true);
  assert.equal(applicableClosure([closure()], null), null);
});

test("closures in force and exit approvals from the cached config", () => {
  const config = {
    closures: [closure(), closure({ starts_at: NOW + 60 }), closure({ ends_at: NOW })],
    approved_exit_subjects: { aa: NOW + 10, bb: NOW },
  };
  assert.equal(activeClosures(config, NOW).length, 1);
  assert.equal(activeClosures(null, NOW).length, 0);
  assert.equal(exitApproved(config, "aa", NOW), true);
  assert.equal(exitApproved(config, "bb", NOW), false); // expired approval
  assert.equal(exitApproved(config, "cc", NOW), false);
  assert.equal(exitApproved(config, null, NOW), null); // an ID number: cannot tell offline
  assert.equal(exitApproved(config, "cc", NOW, true), true); // the server's lookup wins
});

test("temperatures: one decimal, 34–43 °C, empty allowed", () => {
  assert.equal(parseTemperature(""), null);
  assert.equal(parseTemperature(" 36.54 "), 36.5);
  assert.equal(parseTemperature("37,3"), 37.3);
  assert.equal(parseTemperature("37.25"), 37.3);
  assert.ok(Number.isNaN(parseTemperature("33.9")));
  assert.ok(Number.isNaN(parseTemperature("43.1")));
  assert.ok(Number.isNaN(parseTemperature("abc")));
});

test("ID numbers: GB 11643 check character and birth date", () => {
  assert.equal(normaliseIdNumber(" 11010519491231002x "), "11010519491231002X");
  assert.equal(isValidIdNumber("11010519491231002x"), true);
  assert.equal(isValidIdNumber("110105194912310021"), false); // check character
  assert.equal(isValidIdNumber("11010519491231002"), false); // too short
  assert.equal(isValidIdNumber("110105194902300020"), false); // 30 February (check character right)
  assert.equal(isValidIdNumber("110105188001010025"), false); // born before 1890
});

test("the server's lookup says whether a yellow code lives at this gate's compound", () => {
  const record = { identity_checked: true, mask: true, temperature: 36.5, direction: "in" };
  const check = (livesHere) => ({
    method: "code",
    verdict: "valid",
    lookup: { verdict: "valid", person: "张*", colour: "yellow", lives_here: livesHere, closure: null, exit_approved: null },
  });
  assert.equal(decideCheck(check(false), record, {}, 0).refusal, Refusal.YELLOW_CODE);
  assert.equal(decideCheck(check(true), record, {}, 0).refusal, null);
  assert.ok(decideCheck(check(undefined), record, {}, 0).warnings.includes(Warning.YELLOW_OWN_COMPOUND));
});
