// Verify tokens with the gate app's offline verifier (gates/static/gates/verify.js), for
// gates/tests/test_gate_app.py. stdin: {"config": <gate config>, "now": unix s, "tokens": [...],
// "force_fallback": bool}; stdout: [{"verdict", "colour", "subject", "serial"}] and the backend.
import { ed25519Backend, verifierFromConfig, verifyToken } from "../../static/gates/verify.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { config, now, tokens, force_fallback: forceFallback = false } = JSON.parse(input);
const verifier = verifierFromConfig(config);
const results = [];
for (const token of tokens) {
  const r = await verifyToken(token, verifier, now, { forceFallback });
  results.push({ verdict: r.verdict, colour: r.colour, subject: r.claims?.subject ?? null, serial: r.claims?.serial ?? null });
}
process.stdout.write(JSON.stringify({ backend: await ed25519Backend({ forceFallback }), results }));
