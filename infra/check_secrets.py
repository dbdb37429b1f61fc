"""Fail when a file holds a secret that the audited ``.secrets.baseline`` does not accept.

Usage: python infra/check_secrets.py [--root DIR]
Scans every git-tracked file under DIR (every file, when DIR is not a git checkout) with
detect-secrets' default plugins. A finding passes only if the baseline lists it (same file, same
hashed secret) with ``"is_secret": false``, i.e. someone audited it as a test value. Anything else
fails with what to do: remove the secret (and rotate it), or, for a test value, audit it into the
baseline. The baseline is never rewritten here, so CI cannot silently accept a new secret.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess  # nosec B404  # runs git and detect-secrets with fixed argv, no shell
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# Generated or vendored data with no credentials by construction (large, and noisy for entropy plugins).
EXCLUDE = r"(^|/)(package-lock\.json|requirements\.lock|\.secrets\.baseline|infra/advisories/pypi-osv\.json)$"


def tracked_files(root: Path) -> list[str]:
    """Files to scan: git's list in a checkout, else every file (temp copies in tests)."""
    git = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False)  # nosec B603 B607
    if git.returncode == 0:
        return [f for f in git.stdout.splitlines() if (root / f).is_file()]
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)


def findings(root: Path) -> dict[str, list[dict[str, object]]]:
    """detect-secrets' results by file for the tree under ``root``."""
    scan = subprocess.run(  # nosec B603  # fixed argv: the venv's detect-secrets and file names
        [str(BIN / "detect-secrets"), "scan", "--exclude-files", EXCLUDE, *tracked_files(root)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(scan.stdout)["results"]  # type: ignore[no-any-return]


def main(root: Path) -> int:
    baseline_path = root / ".secrets.baseline"
    baseline = json.loads(baseline_path.read_text())["results"] if baseline_path.exists() else {}
    audited = {
        (name, item["hashed_secret"])
        for name, items in baseline.items()
        for item in items
        if item.get("is_secret") is False
    }
    bad = [
        f"{name}:{item['line_number']}: {item['type']}"
        for name, items in findings(root).items()
        for item in items
        if (name, item["hashed_secret"]) not in audited
    ]
    if bad:
        print("detect-secrets: possible secrets not accepted by .secrets.baseline:", *bad, sep="\n  ", file=sys.stderr)
        print(
            "Remove the secret from the file (and rotate it: it may be in git history), or, if it is a test "
            "value, run `.venv/bin/detect-secrets scan --baseline .secrets.baseline` then "
            "`.venv/bin/detect-secrets audit .secrets.baseline` and mark it as not a secret.",
            file=sys.stderr,
        )
        return 1
    print(f"detect-secrets: no unaudited secret ({len(audited)} audited test values in .secrets.baseline)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    sys.exit(main(parser.parse_args().root.resolve()))
