"""Known vulnerabilities in requirements.lock (pip-audit against the PyPI JSON API); one summary line.

Usage: python infra/audit_deps.py
Fails on any vulnerable pin that is not in IGNORED (each with its reason). Pins the service cannot
look up are counted and named in the summary rather than passed silently: a mirror that serves no
per-version pages makes the audit blind, and the summary says so.
"""

from __future__ import annotations

import json
import subprocess  # nosec B404  # runs the venv's pip-audit with fixed argv, no shell
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Vulnerability id -> why it is accepted (none today). Prefer upgrading the pin when the mirror has the fix.
IGNORED: dict[str, str] = {}


def main() -> int:
    cmd = [str(BIN / "pip-audit"), "--vulnerability-service", "pypi", "--no-deps", "--disable-pip"]
    cmd += ["-r", str(ROOT / "requirements.lock"), "--progress-spinner", "off", "-f", "json"]
    for vuln_id in IGNORED:
        cmd += ["--ignore-vuln", vuln_id]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)  # nosec B603
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit could not run (is PyPI reachable?):\n{run.stderr[-2000:]}", file=sys.stderr)
        return 1
    deps = report["dependencies"]
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    vulnerable = [
        (d["name"], d["version"], v["id"], v.get("fix_versions", [])) for d in deps for v in d.get("vulns", [])
    ]
    for name, version, vuln_id, fixes in vulnerable:
        print(f"  {name}=={version}: {vuln_id} (fixed in {', '.join(fixes) or 'no release yet'})", file=sys.stderr)
    print(
        f"pip-audit: {len(deps) - len(skipped)} pins audited, {len(vulnerable)} known vulnerabilities, "
        f"{len(IGNORED)} ignored, {len(skipped)} not auditable (the service has no page for that version)"
    )
    if vulnerable:
        print(
            "Upgrade the pins above in requirements.in / requirements.lock (or justify them in IGNORED).",
            file=sys.stderr,
        )
    return 1 if vulnerable or run.returncode not in (0, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
