"""Pseudonym key rotation end to end on the real store, Spark and Delta (``lakehouse keys rotate``).

The wastewater facility list (a phone) and the vehicle positions (plates and driver licences; the
vehicle pseudonym is part of silver's natural key) run on the committed fixture under key id ``k1``,
gold is built from the positions, then every pseudonym is rotated to ``k2`` through the CLI and the
rotation is run again. Expected pseudonyms are computed here with ``hmac``/``hashlib`` from the
documented derivation, never by the code under test. Finally ``k1`` is retired from the keyring and
the facility's officer is erased by phone: found although every row was written under ``k1`` first.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from tests.lakehouse_fixtures import FIXTURE_DAY, FIXTURES, copy_fixture_sources, lake_bucket

K1 = "rotation-test-master-key-one-0123456789"
K2 = "rotation-test-master-key-two-9876543210"
ENVS = ("LAKEHOUSE_PSEUDONYM_KEY", "LAKEHOUSE_PSEUDONYM_KEYS", "LAKEHOUSE_PSEUDONYM_KEY_ID")
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
DATASETS = ("wastewater_facility", "vehicle_position")
GOLD = "vehicle_activity_hourly"
# (silver pseudonym field, restricted column of the raw normalized value, identifier kind in the derivation)
PSEUDONYMS = {
    "wastewater_facility": [("contact_id", "contact_phone_e164", "contact_phone")],
    "vehicle_position": [("vehicle_id", "plate", "plate"), ("driver_key", "driver_id", "driver_id")],
}
RESTRICTED = {
    "wastewater_facility": "restricted/environment/wastewater_facility_contact",
    "vehicle_position": "restricted/transport/vehicle_position_identity",
}


def expected_pseudonym(master: str, dataset: str, kind: str, normalized: str) -> str:
    """HMAC-SHA256(HMAC-SHA256(master, "lakehouse-pseudonym/v1/<dataset>/<kind>"), value), in hex."""
    derived = hmac.new(master.encode(), f"lakehouse-pseudonym/v1/{dataset}/{kind}".encode(), hashlib.sha256).digest()
    return hmac.new(derived, normalized.encode(), hashlib.sha256).hexdigest()


def _fixture_phone() -> str:
    with (FIXTURES / "environment" / "reference" / "wastewater_facilities.csv").open(encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    return str(row["contact_phone"])


PHONE = _fixture_phone()
NATIONAL = re.sub(r"\D", "", PHONE)[2:]  # +84 964… → 964…
PHONE_WRITTEN_LOCALLY = f"0{NATIONAL[:3]} {NATIONAL[3:6]} {NATIONAL[6:]}"


def _set_keys(keys: str, current: str) -> None:
    os.environ.pop("LAKEHOUSE_PSEUDONYM_KEY", None)
    os.environ["LAKEHOUSE_PSEUDONYM_KEYS"] = keys
    os.environ["LAKEHOUSE_PSEUDONYM_KEY_ID"] = current


def delta(key: str) -> Any:
    from deltalake import DeltaTable

    from jobs.settings import get_settings

    settings = get_settings()
    return DeltaTable(settings.s3_uri(key), storage_options=settings.delta_rs_storage_options())


def rows(key: str) -> list[dict[str, Any]]:
    return delta(key).to_pyarrow_table().to_pylist()  # type: ignore[no-any-return]


def cli(*argv: str) -> tuple[int, str, str]:
    from jobs.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def state() -> dict[str, Any]:
    """Silver and restricted rows and Delta versions of both datasets, and the gold table."""
    out: dict[str, Any] = {}
    for name in DATASETS:
        silver = REGISTRY[name].table_path
        out[name] = {
            "silver": rows(silver),
            "restricted": rows(RESTRICTED[name]),
            "silver_version": delta(silver).version(),
            "restricted_version": delta(RESTRICTED[name]).version(),
        }
    out["gold"] = rows(REGISTRY[GOLD].table_path)
    out["gold_columns"] = delta(REGISTRY[GOLD].table_path).schema().to_arrow().names
    return out


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jobs.pipeline import publish_gold, run_dataset

    saved = {k: os.environ.get(k) for k in ENVS}
    root = tmp_path_factory.mktemp("rotation")
    sources = copy_fixture_sources(root / "sources")
    start, end = INTERVAL.as_strings()
    out: dict[str, Any] = {}
    try:
        _set_keys(f"k1:{K1},k2:{K2}", "k1")
        with lake_bucket("rotation", sources, root / "gx") as bucket:
            out["bucket"] = bucket
            runs = {name: run_dataset(name, start, end, run_id="rotation") for name in DATASETS}
            publish_gold(GOLD, runs["vehicle_position"]["dates"])
            out["before"] = state()
            out["refused_not_current"] = cli("keys", "rotate", "--to", "k2")
            _set_keys(f"k1:{K1},k2:{K2}", "k2")
            out["refused_unknown"] = cli("keys", "rotate", "--to", "k9")
            out["listed"] = cli("keys", "list")
            code, text, err = cli(
                "keys", "rotate", "--to", "k2", "--reason", "test", "--requested-by", "pytest", "--json"
            )
            assert code == 0, err
            out["first"] = json.loads(text)
            out["after"] = state()
            code, text, err = cli("keys", "rotate", "--to", "k2", "--requested-by", "pytest", "--json")
            assert code == 0, err
            out["second"] = json.loads(text)
            out["after_rerun"] = state()
            out["audit"] = rows("audit/key_rotation")
            # A batch written under k2 after the rotation agrees with the rotated rows.
            out["rerun_facility"] = run_dataset("wastewater_facility", start, end, run_id="after-rotation")
            out["after_pipeline_rerun"] = state()
            # k1 retired: the erasure finds the subject with k2 alone.
            _set_keys(f"k2:{K2}", "k2")
            code, text, err = cli(
                "erase", "--subject-phone", PHONE_WRITTEN_LOCALLY, "--retention", "0", "--requested-by", "pytest"
            )
            assert code == 0, err
            out["erase_stdout"] = text
            out["after_erasure"] = state()
            yield out
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _assert_pseudonyms(snapshot: dict[str, Any], master: str, key_id: str) -> int:
    """Every silver pseudonym = the expected HMAC of its restricted raw value under ``master``; returns rows checked."""
    checked = 0
    for name in DATASETS:
        ds = REGISTRY[name]
        restricted = {
            tuple(r[k] for k in ds.natural_key): r for r in snapshot[name]["restricted"] if r["valid_to"] is None
        }
        for row in snapshot[name]["silver"]:
            raw = restricted[tuple(row[k] for k in ds.natural_key)]
            for field, column, kind in PSEUDONYMS[name]:
                if raw[column] is None:
                    assert row[field] is None and row[f"{field}_key_id"] is None
                    continue
                assert row[field] == expected_pseudonym(master, name, kind, raw[column]), (name, field)
                assert row[f"{field}_key_id"] == key_id
                assert raw[field] == row[field] and raw[f"{field}_key_id"] == key_id  # the restricted row too
            checked += 1
    return checked


def test_pipeline_writes_derived_pseudonyms_with_their_key_id(lake: dict[str, Any]) -> None:
    before = lake["before"]
    assert _assert_pseudonyms(before, K1, "k1") == sum(len(before[n]["silver"]) for n in DATASETS) > 0
    facility = before["wastewater_facility"]["restricted"][0]
    assert facility["contact_phone_e164"] == PHONE
    # Unlinkable across datasets and kinds: the same value under another dataset's key differs.
    assert expected_pseudonym(K1, "other_dataset", "contact_phone", PHONE) != facility["contact_id"]


def test_rotation_is_refused_with_the_fix_when_the_key_is_not_current_or_unknown(lake: dict[str, Any]) -> None:
    code, _out, err = lake["refused_not_current"]
    assert code != 0 and "LAKEHOUSE_PSEUDONYM_KEY_ID=k2 first" in err
    code, _out, err = lake["refused_unknown"]
    assert code != 0 and "not in the keyring" in err and K1 not in err and K2 not in err
    code, out, _err = lake["listed"]
    assert code == 0 and out.split("\n")[:2] == ["k1", "k2  (current)"] and K2 not in out


def test_rotation_recomputes_every_pseudonym_under_the_new_key_in_one_commit_per_table(lake: dict[str, Any]) -> None:
    before, after = lake["before"], lake["after"]
    assert _assert_pseudonyms(after, K2, "k2") == sum(len(before[n]["silver"]) for n in DATASETS)
    for name in DATASETS:
        assert len(after[name]["silver"]) == len(before[name]["silver"])
        assert len(after[name]["restricted"]) == len(before[name]["restricted"])
        assert after[name]["silver_version"] == before[name]["silver_version"] + 1
        assert after[name]["restricted_version"] == before[name]["restricted_version"] + 1
        old = {r[f] for r in before[name]["silver"] for f, _, _ in PSEUDONYMS[name]} - {None}
        new = {r[f] for r in after[name]["silver"] for f, _, _ in PSEUDONYMS[name]} - {None}
        assert len(old) == len(new) and not old & new  # one-to-one, and no old pseudonym left
    first = lake["first"]
    assert first["key_id_to"] == "k2" and first["key_ids_from"] == ["k1"]
    changed = {t["table"]: t["rows_changed"] for t in first["tables"]}
    assert changed["silver/transport/vehicle_position"] == len(before["vehicle_position"]["silver"])
    assert changed["silver/environment/wastewater_facility"] == len(before["wastewater_facility"]["silver"])


def test_gold_carries_no_pseudonym_and_is_untouched(lake: dict[str, Any]) -> None:
    before, after = lake["before"], lake["after"]
    banned = {c for fields in PSEUDONYMS.values() for f, _, _ in fields for c in (f, f"{f}_key_id")}
    assert not banned & set(before["gold_columns"])
    pseudonyms = {
        r[f] for s in (before, after) for n in DATASETS for r in s[n]["silver"] for f, _, _ in PSEUDONYMS[n]
    } - {None}
    values = {str(v) for r in before["gold"] for v in r.values()}
    assert not pseudonyms & values
    assert before["gold"] and after["gold"] == before["gold"]
    assert "silver/transport/vehicle_position" not in lake["first"]["gold_checked"]
    assert f"gold/transport/{GOLD}" in lake["first"]["gold_checked"]


def test_a_second_rotation_changes_nothing_and_is_audited(lake: dict[str, Any]) -> None:
    after, rerun = lake["after"], lake["after_rerun"]
    for name in DATASETS:
        assert rerun[name]["silver_version"] == after[name]["silver_version"]
        assert rerun[name]["restricted_version"] == after[name]["restricted_version"]
        assert rerun[name]["silver"] == after[name]["silver"]
    assert lake["second"]["rows_changed_total"] == 0 and lake["second"]["key_ids_from"] == ["k2"]
    audit = sorted(lake["audit"], key=lambda r: r["requested_at"])
    assert [(r["key_id_to"], r["key_ids_from"], r["requested_by"]) for r in audit] == [
        ("k2", ["k1"], "pytest"),
        ("k2", ["k2"], "pytest"),
    ]
    assert audit[0]["rows_changed_total"] == lake["first"]["rows_changed_total"] > 0
    assert audit[1]["rows_changed_total"] == 0
    text = json.dumps(audit, default=str)
    assert K1 not in text and K2 not in text and PHONE not in text


def test_a_batch_after_the_rotation_matches_the_rotated_rows(lake: dict[str, Any]) -> None:
    after, again = lake["after"]["wastewater_facility"], lake["after_pipeline_rerun"]["wastewater_facility"]
    pick = lambda rs: sorted((r["facility_id"], r["contact_id"], r["contact_id_key_id"]) for r in rs)  # noqa: E731
    assert pick(again["silver"]) == pick(after["silver"])
    open_rows = lambda rs: sorted((r["facility_id"], r["contact_id"]) for r in rs if r["valid_to"] is None)  # noqa: E731
    assert open_rows(again["restricted"]) == open_rows(after["restricted"])


def test_erasure_after_rotation_with_the_old_key_retired_still_finds_the_phone(lake: dict[str, Any]) -> None:
    erased = lake["after_erasure"]["wastewater_facility"]
    assert lake["after"]["wastewater_facility"]["restricted"]  # the subject was there
    assert erased["restricted"] == []
    assert [(r["contact_id"], r["contact_id_key_id"]) for r in erased["silver"]] == [(None, None)]
    assert expected_pseudonym(K2, "wastewater_facility", "contact_phone", PHONE) in lake["erase_stdout"]
