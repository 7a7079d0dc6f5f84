"""Audit the locked dependencies for known vulnerabilities (pip-audit against PyPI's advisories).

    .venv/bin/python scripts/audit_dependencies.py [requirements.lock]

Exits 1 when a locked package has a known vulnerability (each is listed with its fix versions).
Packages the advisory service could not be asked about are counted and named: when none could be
(no route to pypi.org's per-release JSON, as on a registry mirror), the audit says so plainly and
exits 0 — it cannot claim a clean result, and it must not fail a build on a network it lacks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    lock = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "requirements.lock"
    audit = subprocess.run(  # noqa: S603 - pip-audit from this environment
        [
            str(Path(sys.executable).with_name("pip-audit")),
            "-r",
            str(lock),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        report = json.loads(audit.stdout)
    except ValueError:
        print(f"pip-audit failed (exit {audit.returncode}):\n{audit.stderr[-3000:]}", file=sys.stderr)
        return 1
    packages = report["dependencies"]
    skipped = [p for p in packages if p.get("skip_reason")]
    vulnerable = [p for p in packages if p.get("vulns")]
    audited = len(packages) - len(skipped)
    for package in vulnerable:
        for vuln in package["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"VULNERABLE {package['name']} {package['version']}: {vuln['id']} (fixed in {fixes})")
    print(f"dependency audit: {audited} of {len(packages)} packages audited, {len(vulnerable)} vulnerable")
    if skipped:
        print(f"not audited ({len(skipped)}): " + ", ".join(p["name"] for p in skipped))
    if packages and audited == 0:
        print("WARNING: the advisory service could not be reached for any package; nothing was audited")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
