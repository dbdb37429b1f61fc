"""Scenario 11 (secrets): each Makefile recipe gets only the keys it needs.

The real Makefile is read together with a probe makefile that replaces every recipe (the phony
targets and the install stamps) by one line printing the names of the secret variables that
recipe's environment holds. ``make -s <target>`` then shows, for the target and every prerequisite
it builds, what it would have seen. make is called from this process, whose environment has every
secret (``make test`` gives them all): the Makefile must strip what a recipe should not see, not
merely refrain from adding it. Expected sets are written here from the rule, not read from the
Makefile: DAG runs, the UI, the benchmarks, the source servers and the operator's CLI get the
pipeline's keys; only the store's start-up (the cluster's too) and the tests get the root and ministries' keys; a
ministry's CLI gets its own pair and nothing else, and so does the live monitoring page (the
environment ministry's); every other recipe gets none.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.chaos.scenario import ScenarioRow
from tests.lakehouse_fixtures import REPO

PIPELINE_BASE = {
    "LAKEHOUSE_S3_ACCESS_KEY",
    "LAKEHOUSE_S3_SECRET_KEY",
    "LAKEHOUSE_FTP_PASSWORD",
    "LAKEHOUSE_MQTT_PASSWORD",
    "LAKEHOUSE_MQTT_PUBLISHER_PASSWORD",
    "LAKEHOUSE_HTTP_TOKEN",
}
# The pseudonym keyring (jobs/privacy.py): a secrets file generated before keyrings holds the single
# LAKEHOUSE_PSEUDONYM_KEY; a newer one LAKEHOUSE_PSEUDONYM_KEYS and LAKEHOUSE_PSEUDONYM_KEY_ID.
PSEUDONYM = {"LAKEHOUSE_PSEUDONYM_KEY", "LAKEHOUSE_PSEUDONYM_KEYS", "LAKEHOUSE_PSEUDONYM_KEY_ID"}
ROOT = {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}
PROBE = (
    "\t@printf \"== %s:%s\\n\" \"$@\" \"$$(env | grep -oE '^(LAKEHOUSE|MINIO)_[A-Z0-9_]*' | sort | tr '\\n' ' ')\"\n"
)
STAMPS = [
    "$(VENV)/.installed",
    "$(JARS_DIR)/.fetched",
    "$(ROOT)/.tools/minio-$(MINIO_VERSION).built",
    "$(WEB_DIR)/.installed",
]


def secret_names() -> set[str]:
    """Every name in the generated secrets file (the ministries' keys included)."""
    text = (REPO / ".state" / "secrets.env").read_text()
    return {line.partition("=")[0] for line in text.splitlines() if "=" in line and not line.startswith("#")}


def phony_targets() -> list[str]:
    text = (REPO / "Makefile").read_text()
    match = re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE)
    assert match, "no .PHONY line in the Makefile"
    return match.group(1).split()


def seen(probe: Path, target: str, secrets: set[str], extra: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Secret names each recipe run by ``make <target>`` sees, by recipe."""
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", str(probe), target, "S3_PORT=19114", *extra],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k != "MFLAGS"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    recipes: dict[str, set[str]] = {}
    for line in out.splitlines():
        if line.startswith("== "):
            name, _, names = line[3:].partition(":")
            recipes[name] = set(names.split()) & secrets
    assert target in recipes, f"make {target} ran no probe:\n{out}"
    return recipes


def test_secrets_per_recipe(chaos_row: ScenarioRow, tmp_path: Path) -> None:
    secrets = secret_names()
    ministries = {n for n in secrets if re.fullmatch(r"LAKEHOUSE_MINISTRY_[A-Z]+_(ACCESS|SECRET)_KEY", n)}
    assert secrets & PSEUDONYM in ({"LAKEHOUSE_PSEUDONYM_KEY"}, PSEUDONYM - {"LAKEHOUSE_PSEUDONYM_KEY"}, PSEUDONYM)
    pipeline = PIPELINE_BASE | (secrets & PSEUDONYM)
    assert len(ministries) >= 4 and secrets >= pipeline | ROOT, secrets
    # The caller's environment holds them all: the Makefile must take away what a recipe may not see.
    assert secrets <= os.environ.keys(), secrets - os.environ.keys()
    targets = phony_targets()
    probe = tmp_path / "probe.mk"
    probe.write_text("".join(f"{t}:\n{PROBE}" for t in [*targets, *STAMPS]))

    expected: dict[str, set[str]] = {t: set() for t in targets}
    expected.update(
        {
            t: pipeline
            for t in (
                "run",
                "airflow",
                "bench",
                "bench-slice",
                "bench-sources",
                "bench-channels",
                "bench-live",
                "bench-query",
                "bench-store",
                "sources",
                "operator",
                "stream-start",
                "cluster-run",
                "cluster-compare",
                "cluster-bench",
                "cluster-bench-store",
            )
        }
    )
    # cluster-up provisions its store as `make store` does (and hands its daemons only the pipeline's keys);
    # the cluster's drills restart the store's nodes, as the tests do.
    admin = ("store", "test", "chaos", "cluster-up", "cluster-drills")
    expected.update({t: pipeline | ROOT | ministries for t in admin})
    mae = {"LAKEHOUSE_MINISTRY_MAE_ACCESS_KEY", "LAKEHOUSE_MINISTRY_MAE_SECRET_KEY"}
    expected.update({t: mae for t in ("live", "live-start")})  # the monitoring page reads as the environment ministry

    wrong: list[str] = []
    checked = 0
    assert "lakehouse" in targets, "no `make lakehouse` (a ministry's CLI with only its keys) in the Makefile"
    # Another ministry's code gives that ministry's pair, never mae's.
    moc = seen(probe, "lakehouse", secrets, ("LAKEHOUSE_MINISTRY=moc",))["lakehouse"]
    if moc != {"LAKEHOUSE_MINISTRY_MOC_ACCESS_KEY", "LAKEHOUSE_MINISTRY_MOC_SECRET_KEY"}:
        wrong.append(f"make lakehouse LAKEHOUSE_MINISTRY=moc: sees {sorted(moc)}")
    for target in targets:
        extra = ("LAKEHOUSE_MINISTRY=mae",) if target == "lakehouse" else ()
        recipes = seen(probe, target, secrets, extra)
        want = mae if target == "lakehouse" else expected[target]
        checked += 1
        if recipes[target] != want:
            wrong.append(f"make {target}: sees {sorted(recipes[target])}, expected {sorted(want)}")
        # A prerequisite (sample, airflow-init … for a DAG run) inherits at most its target's keys, and never
        # the root's or a ministry's unless it is the store's start-up itself (installers run as sub-makes).
        for name, names in recipes.items():
            if name == target:
                continue
            allowed = expected.get(name, set()) | (want - ROOT - ministries)
            if not names <= allowed:
                wrong.append(f"make {target} → {name}: sees {sorted(names - allowed)}")
    chaos_row.count(records_in=checked + 1, silver=checked + 1 - len(wrong), quarantined=0)
    chaos_row.detail = f"{checked + 1} make targets probed for {len(secrets)} secret names: {len(wrong)} wrong"
    assert not wrong, "\n".join(wrong)
