"""Rebuild infra/advisories/pypi-osv.json from a checkout of the PyPA advisory database.

Usage: python infra/refresh_advisories.py <clone of the PyPA advisory database> [<its URL>]

(github.com/pypa/advisory-database, or a mirror of it; the URL is recorded in the snapshot.)

The package mirror this project installs from serves no per-version JSON pages and no vulnerability
service is reachable at run time, so ``infra/audit_deps.py`` also audits the lock file offline against
this snapshot. It keeps only the advisories of packages named in requirements.lock (every version, so
an upgrade or downgrade is checked too), in OSV form reduced to what the audit reads, with the
database's commit and date. Refresh it whenever the lock file changes or a newer database is at hand.
"""

from __future__ import annotations

import json
import subprocess  # nosec B404  # git with fixed argv, no shell
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "infra" / "advisories" / "pypi-osv.json"
sys.path.insert(0, str(ROOT / "infra"))
from audit_deps import canonical, locked_pins  # noqa: E402


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout  # nosec B603 B607


def _reduced(osv: dict) -> dict:
    affected = []
    for entry in osv.get("affected", []):
        ranges = [r["events"] for r in entry.get("ranges", []) if r.get("type") == "ECOSYSTEM"]
        name = canonical(entry["package"]["name"])
        affected.append({"name": name, "ranges": ranges, "versions": entry.get("versions", [])})
    summary = (osv.get("summary") or osv.get("details") or "").strip().splitlines()
    return {
        "id": osv["id"],
        "aliases": osv.get("aliases", []),
        "summary": summary[0][:200] if summary else "",
        "withdrawn": osv.get("withdrawn"),
        "affected": affected,
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    repo = Path(argv[0])
    source = argv[1] if len(argv) == 2 else "https://github.com/pypa/advisory-database"
    wanted = {canonical(name) for name in locked_pins()}
    files = [p for p in _git(repo, "ls-tree", "-r", "--name-only", "HEAD", "vulns/").split() if p.endswith(".yaml")]
    advisories = []
    for path in files:
        if canonical(path.split("/")[1]) in wanted:
            advisories.append(_reduced(yaml.safe_load(_git(repo, "show", f"HEAD:{path}"))))
    commit, date = _git(repo, "log", "-1", "--format=%H %cI").split()
    advisories.sort(key=lambda a: a["id"])
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(
        json.dumps(
            {"source": source, "commit": commit, "date": date, "advisories": advisories},
            indent=0,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(advisories)} advisories for {len(wanted)} locked packages, database of {date} ({commit[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
