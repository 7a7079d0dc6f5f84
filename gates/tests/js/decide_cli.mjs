// The gate app's own decision (gates/static/gates/rules.js decideCheck, after verify.js), for
// gates/tests/test_gate_app.py to compare with the server's. stdin: {"config": <gate config>,
// "now": unix s, "checks": [{"record": <as queued>, "lookup": <lookup answer>|null,
// "lookup_direction": str|null}], "id_numbers": [...]}; stdout: {"decisions": [...], "id_valid": [...]}.
import { decideCheck, isValidIdNumber } from "../../static/gates/rules.js";
import { verifierFromConfig, verifyToken } from "../../static/gates/verify.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { config, now, checks = [], id_numbers: idNumbers = [] } = JSON.parse(input);
const verifier = verifierFromConfig(config);
const decisions = [];
for (const { record, lookup = null, lookup_direction: lookupDirection = null } of checks) {
  const check = { method: record.token ? "code" : "id_number", verdict: null, claims: null, lookup, lookupDirection };
  if (record.token) {
    const result = await verifyToken(record.token, verifier, now);
    check.verdict = result.verdict;
    check.claims = result.claims;
  }
  decisions.push(decideCheck(check, record, config, now));
}
process.stdout.write(JSON.stringify({ decisions, id_valid: idNumbers.map((n) => isValidIdNumber(n)) }));
