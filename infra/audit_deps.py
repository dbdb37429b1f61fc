"""Known vulnerabilities in requirements.lock; one summary line per source, fails on any finding.

Usage: python infra/audit_deps.py

Two sources, because neither alone covers every pin here:
1. pip-audit against the PyPI JSON API. Pins the service cannot look up are counted and named
   rather than passed silently: a mirror that serves no per-version pages makes it blind.
2. Offline, the PyPA advisory database (OSV) snapshot in infra/advisories/pypi-osv.json, reduced to
   the locked packages by infra/refresh_advisories.py; its date is printed, since it knows nothing
   published after it. Every pin is evaluated against every advisory's ECOSYSTEM ranges and versions.

Fails on any vulnerable pin that is not in IGNORED (each with its reason).
"""

from __future__ import annotations

import json
import re
import subprocess  # nosec B404  # runs the venv's pip-audit with fixed argv, no shell
import sys
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCK = ROOT / "requirements.lock"
SNAPSHOT = ROOT / "infra" / "advisories" / "pypi-osv.json"
# Vulnerability id -> why it is accepted (none today). Prefer upgrading the pin when the mirror has the fix.
IGNORED: dict[str, str] = {}


def canonical(name: str) -> str:
    """PEP 503 normalized project name (the advisory database's directory names vary in case and dashes)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_pins(lock: Path = LOCK) -> dict[str, str]:
    """``name==version`` lines of the lock file, by canonical name."""
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name.split("[", 1)[0])] = version.strip()
    return pins


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _bound(text: str) -> Version | None:
    """An advisory's range bound; some imported ones carry a non-PEP 440 tail (``3.0.3-NA``): its
    release part is the bound. None when not even that parses."""
    if text == "0":
        return Version("0")
    exact = _version(text)
    if exact is not None:
        return exact
    release = re.match(r"[0-9]+(\.[0-9]+)*", text)
    return _version(release.group(0)) if release else None


def in_range(version: Version, events: list[dict[str, str]]) -> bool:
    """OSV's ECOSYSTEM range evaluation: walk the events in version order, introduced opens, fixed /
    last_affected close (introduced "0" is the start of time)."""
    ordered: list[tuple[Version, int, str]] = []
    for event in events:
        ((kind, raw),) = event.items()
        at = _bound(raw)
        if at is None:
            raise ValueError(f"advisory range bound {raw!r} is not a version: fix the snapshot or the parser")
        ordered.append((at, 0 if kind == "introduced" else 1, kind))
    affected = False
    for at, _, kind in sorted(ordered):
        if kind == "introduced" and version >= at:
            affected = True
        elif (kind == "fixed" and version >= at) or (kind == "last_affected" and version > at):
            affected = False
    return affected


def offline_findings(pins: dict[str, str], snapshot: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(name, version, advisory id, summary) for every locked pin an advisory of the snapshot affects."""
    found = []
    for advisory in snapshot["advisories"]:
        if advisory.get("withdrawn"):
            continue
        for entry in advisory["affected"]:
            pinned = pins.get(entry["name"], "")
            version = _version(pinned)
            if version is None:
                continue
            listed = any(_version(v) == version for v in entry["versions"])
            if listed or any(in_range(version, events) for events in entry["ranges"]):
                found.append((entry["name"], pinned, advisory["id"], advisory["summary"]))
                break
    return found


def _pip_audit() -> tuple[str, list[tuple[str, str, str, str]]] | None:
    cmd = [str(BIN / "pip-audit"), "--vulnerability-service", "pypi", "--no-deps", "--disable-pip"]
    cmd += ["-r", str(LOCK), "--progress-spinner", "off", "-f", "json"]
    for vuln_id in IGNORED:
        cmd += ["--ignore-vuln", vuln_id]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)  # nosec B603
    try:
        deps = json.loads(run.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        print(f"pip-audit could not run (is PyPI reachable?):\n{run.stderr[-2000:]}", file=sys.stderr)
        return None
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    found = [
        (d["name"], d["version"], v["id"], "fixed in " + ", ".join(v.get("fix_versions", [])))
        for d in deps
        for v in d.get("vulns", [])
    ]
    summary = f"pip-audit (PyPI JSON API): {len(deps) - len(skipped)} pins audited, {len(found)} known vulnerabilities"
    summary += f", {len(skipped)} not auditable (the service has no page for that version)"
    return summary, found


def main() -> int:
    pins = locked_pins()
    findings: list[tuple[str, str, str, str]] = []
    online = _pip_audit()
    if online is None:
        return 1
    print(online[0])
    findings += online[1]
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    offline = [f for f in offline_findings(pins, snapshot) if f[2] not in IGNORED]
    origin = f"{snapshot['source']} @ {snapshot['commit'][:12]}"
    print(
        f"PyPA advisory database of {snapshot['date'][:10]} ({origin}, offline): {len(pins)} pins checked "
        f"against {len(snapshot['advisories'])} advisories, {len(offline)} known vulnerabilities"
    )
    findings += offline
    for name, version, vuln_id, detail in findings:
        print(f"  {name}=={version}: {vuln_id} ({detail or 'no detail'})", file=sys.stderr)
    if findings:
        print("Upgrade the pins above in requirements.in / requirements.lock (or justify in IGNORED).", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
