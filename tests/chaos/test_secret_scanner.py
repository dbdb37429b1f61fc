"""Scenario 11 (secrets): a secret committed by mistake fails the build.

``infra/check_secrets.py`` (run by ``make lint`` and ``make test``) is run on a temp copy of two
real files and the committed ``.secrets.baseline``: clean, it passes (the audited test values in
``tests/unit/test_privacy.py`` are accepted); with an AWS-style access key and a private-key block
planted in the copy of ``jobs/settings.py``, it fails and names both lines. The planted values are
built at run time so that this file itself holds no secret.
"""

from __future__ import annotations

import secrets
import shutil
import string
import subprocess
import sys
from pathlib import Path

from tests.chaos.scenario import ScenarioRow
from tests.lakehouse_fixtures import REPO

CHECK = REPO / "infra" / "check_secrets.py"
COPIED = ["jobs/settings.py", "tests/unit/test_privacy.py", ".secrets.baseline"]


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), "--root", str(root)], capture_output=True, text=True, timeout=300, check=False
    )


def test_secret_scanner(chaos_row: ScenarioRow, tmp_path: Path) -> None:
    for name in COPIED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    clean = check(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    aws_key = "AK" + "IA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    pem_head = "-----BEGIN " + "RSA PRIVATE KEY-----"
    target = tmp_path / "jobs" / "settings.py"
    lines = target.read_text().splitlines()
    first = len(lines) + 1
    lines += [f'LEAKED_KEY_ID = "{aws_key}"', f'LEAKED_PEM = """{pem_head}', "MIIEowIBAAKCAQEA", '"""']
    target.write_text("\n".join(lines) + "\n")
    planted = check(tmp_path)

    caught = [
        f"jobs/settings.py:{first}: AWS Access Key" in planted.stderr,
        f"jobs/settings.py:{first + 1}: Private Key" in planted.stderr,
    ]
    chaos_row.count(records_in=len(caught), silver=sum(caught), quarantined=0)
    chaos_row.detail = (
        f"planted AWS key + private-key block: {sum(caught)}/{len(caught)} caught, exit {planted.returncode}"
    )
    assert planted.returncode == 1, planted.stdout + planted.stderr
    assert all(caught), planted.stderr
    assert aws_key not in planted.stdout + planted.stderr, "the scanner must not print the secret"
