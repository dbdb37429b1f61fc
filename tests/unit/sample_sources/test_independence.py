"""The sample sources are independent of the pipeline, and where they share a fact they agree.

Why: data made with the code that later cleans it proves nothing (issue 12). The sources keep their
own copies of the few facts both sides need (environment variables, the MQTT protocol, province
and agriculture tables, the GS1 check digit); these tests, which may import both, prove the copies
agree, and that the import-linter contract fails on a planted import, lazy ones included.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest

from jobs import provinces
from jobs.agriculture import datasets as agri
from jobs.agriculture.transforms import gtin13_check_digit
from jobs.extract import mqtt
from jobs.settings import Settings
from jobs.text import repair_vietnamese
from sample_sources import env, legacy_text
from sample_sources import provinces as sample_provinces
from sample_sources.agriculture import facts
from sample_sources.environment import generate as environment
from sample_sources.servers import mqtt_publisher

REPO = Path(__file__).resolve().parents[3]


def test_source_env_reads_the_same_variables_with_the_same_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f.name for f in fields(env.SourceEnv)]
    for var in os.environ:
        if var.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(var)
    assert {n: getattr(env.SourceEnv(), n) for n in names} == {n: getattr(Settings(), n) for n in names}
    values = {"SOURCE_ROOT": "/srv/x", "FTP_USER": "u", "FTP_PASSWORD": "p", "MQTT_HOST": "h", "MQTT_PORT": "1999"}
    values |= {"MQTT_USER": "mu", "MQTT_PASSWORD": "mp"}
    for key, value in values.items():
        monkeypatch.setenv(f"LAKEHOUSE_{key}", value)
    assert {n: getattr(env.SourceEnv(), n) for n in names} == {n: getattr(Settings(), n) for n in names}


def test_mqtt_protocol_constants_agree() -> None:
    for name in ("PROP_MESSAGE_ID", "PROP_SENT_AT", "MANIFEST_LEVEL", "KEEPALIVE_SECONDS"):
        assert getattr(mqtt_publisher, name) == getattr(mqtt, name), name
    day = date(2026, 11, 26)
    assert mqtt_publisher.manifest_topic("a/b", day) == mqtt.manifest_topic("a/b", day)


def test_agriculture_facts_agree() -> None:
    for name in ("CROPS", "SEASONS", "SEASON_END", "OCOP_GROUPS", "PRODUCER_TYPES", "STAR_SCORE_BANDS"):
        assert getattr(facts, name) == getattr(agri, name), name
    assert facts.EXPECTED_STEPS == agri.EXPECTED_STEPS and facts.CROP_STATS_COLUMNS == agri.CROP_STATS_COLUMNS


def test_gs1_check_digit_agrees_and_matches_a_published_gtin() -> None:
    assert facts.gtin13_check_digit("400638133393") == 1  # EAN-13 4006381333931 (GS1's worked example)
    rng = random.Random(12)
    for _ in range(2000):
        body = "".join(rng.choice("0123456789") for _ in range(12))
        assert facts.gtin13_check_digit(body) == gtin13_check_digit(body), body


def test_province_tables_agree() -> None:
    assert sample_provinces.provinces_2025() == provinces.PROVINCES_2025
    assert sample_provinces.provinces_legacy() == provinces.PROVINCES_LEGACY
    assert sample_provinces.legacy_to_2025() == provinces.LEGACY_TO_2025
    assert sample_provinces.REFORM_DATE == provinces.REFORM_DATE


def test_every_station_name_the_generator_can_make_is_repaired_as_its_report_predicts() -> None:
    """The report says "repaired" for every TCVN3 / VNI station name; here, over the whole name space,
    the pipeline's field repair restores each exactly (so the generator need not ask it)."""
    names = [n for n, *_ in environment._KNOWN_AIR_STATIONS]
    names += [f"Trạm {a} {b}" for a in environment._PLACE_WORDS_A for b in environment._PLACE_WORDS_B]
    names += [f"{n} 2" for n in names]
    tcvn3, vni = environment._legacy_field_names(names)
    for name, *broken in zip(names, tcvn3, vni, strict=True):
        for text in broken:
            assert text != name and repair_vietnamese(text) == name, (name, text)
        assert repair_vietnamese(unicodedata.normalize("NFD", name)) == name


def test_vni_chart_rows_cover_every_vietnamese_letter() -> None:
    letters = {c for c in legacy_text.vni_table() if not c.isascii()}
    assert len(legacy_text.vni_table()) == 2 * (12 * 6 + 1)  # 12 vowels x 6 tones + đ, lower and upper
    assert {"ơ", "ư", "đ", "Ơ", "Ư", "Đ", "ỵ", "Ỵ"} <= letters


def test_the_import_contract_fails_on_a_planted_lazy_import(tmp_path: Path) -> None:
    if shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("import-linter is not installed")
    shutil.copytree(REPO / "sample_sources", tmp_path / "sample_sources", ignore=shutil.ignore_patterns("fixtures"))
    with (tmp_path / "sample_sources" / "legacy_text.py").open("a", encoding="utf-8") as fh:
        fh.write("\n\ndef _planted() -> None:\n    from jobs.text import repair_vietnamese  # noqa: F401\n")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    environ = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--config", str(tmp_path / "pyproject.toml")],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sample_sources.legacy_text -> jobs.text" in done.stdout


def test_the_generators_qcvn_limits_are_the_pipelines() -> None:
    from jobs.environment.limits import air_limit_row, wastewater_limit

    on = date(2026, 11, 26)
    for parameter, value in environment._AIR_1H_LIMIT.items():
        row = air_limit_row(parameter, "1h", on)
        assert row is not None and row["limit_value"] == value, parameter
    for parameter in environment.AIR_PARAMS:  # and no 1-hour limit the generator does not know
        assert (air_limit_row(parameter.name, "1h", on) is not None) == (parameter.name in environment._AIR_1H_LIMIT)
    for parameter, (scaled, by_column) in environment._WASTEWATER_LIMIT.items():
        for column, (low, high) in by_column.items():
            assert wastewater_limit(parameter, column, on, 1.1, 0.9) == (
                low,
                None if high is None else (high * 1.1 * 0.9 if scaled else high),
            ), (parameter, column)
    checked = {p.name for p in environment.WASTEWATER_PARAMS if wastewater_limit(p.name, "A", on) != (None, None)}
    assert checked == set(environment._WASTEWATER_LIMIT)
