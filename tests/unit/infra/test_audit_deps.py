"""The offline dependency audit (infra/audit_deps.py) finds what public advisories say it must.

Expected findings come from the advisories' public text, not from the code: requests 2.3.0-2.30.0
leaked Proxy-Authorization (CVE-2023-32681, fixed in 2.31.0); Airflow 3.0.3 showed sensitive
connection fields to readers (CVE-2025-54831, the database's bound is written ``3.0.3-NA``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import Version

from tests.infra_scripts import load_infra_script

REPO = Path(__file__).resolve().parents[3]
audit = load_infra_script("audit_deps")

SNAPSHOT = json.loads((REPO / "infra" / "advisories" / "pypi-osv.json").read_text(encoding="utf-8"))


def _ids(pins: dict[str, str]) -> set[str]:
    return {finding[2] for finding in audit.offline_findings(pins, SNAPSHOT)}


@pytest.mark.parametrize(
    ("version", "events", "affected"),
    [
        ("1.0", [{"introduced": "0"}, {"fixed": "1.1"}], True),
        ("1.1", [{"introduced": "0"}, {"fixed": "1.1"}], False),
        ("0.9", [{"introduced": "1.0"}, {"fixed": "1.1"}], False),
        ("1.2", [{"introduced": "0"}, {"last_affected": "1.2"}], True),
        ("1.2.1", [{"introduced": "0"}, {"last_affected": "1.2"}], False),
        # Two windows in one range: affected again from 2.0 until 2.0.5.
        ("2.0.4", [{"introduced": "0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.0.5"}], True),
        ("1.9", [{"introduced": "0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.0.5"}], False),
        ("3.0.3", [{"introduced": "0"}, {"last_affected": "3.0.3-NA"}], True),
        ("3.0.4", [{"introduced": "0"}, {"last_affected": "3.0.3-NA"}], False),
    ],
)
def test_osv_range(version: str, events: list[dict[str, str]], affected: bool) -> None:
    assert audit.in_range(Version(version), events) is affected


def test_known_vulnerable_pins_are_found_in_the_snapshot() -> None:
    assert "PYSEC-2023-74" in _ids({"requests": "2.30.0"})
    assert "PYSEC-2023-74" not in _ids({"requests": "2.31.0"})
    assert "PYSEC-2025-85" in _ids({"apache-airflow": "3.0.3"})
    assert "PYSEC-2025-85" not in _ids({"apache-airflow": "3.0.4"})


def test_lock_file_names_are_read_canonically(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("# header\nPyYAML==6.0.1\nzope.interface==7.0 ; python_version >= '3'\nuvicorn[standard]==0.30.0\n")
    assert audit.locked_pins(lock) == {"pyyaml": "6.0.1", "zope-interface": "7.0", "uvicorn": "0.30.0"}


def test_snapshot_covers_every_locked_package_it_has_advisories_for() -> None:
    """Every advisory in the snapshot is for a locked package (it is reduced to them), and the
    snapshot is not empty for the packages most exposed here."""
    pins = audit.locked_pins()
    names = {entry["name"] for advisory in SNAPSHOT["advisories"] for entry in advisory["affected"]}
    assert {"apache-airflow", "requests", "urllib3", "jinja2", "cryptography"} <= names
    assert all(any(n in pins for n in {e["name"] for e in a["affected"]}) for a in SNAPSHOT["advisories"])
