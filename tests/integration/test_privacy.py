"""Personal data end to end on the real store, Spark and Delta: pseudonyms, erasure, open data.

The environment pipeline runs on the committed fixture (one wastewater facility, whose officer is
the data subject) in a throw-away bucket with a test pseudonym key. Then, in this order: every
table and the open-data files are scanned for the raw contact, the PUBLIC gold tables are
published, and the subject is erased through the CLI with retention 0. Expected values come from
the fixture CSV and the standard library's ``hmac``, never from the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import date
from typing import Any

import pytest

from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Classification, Layer
from tests.lakehouse_fixtures import FIXTURE_DAY, FIXTURES, copy_fixture_sources, lake_bucket

TEST_KEY = "integration-test-pseudonym-key-0123456789"
SILVER = [d.name for d in REGISTRY.by_sector("environment", Layer.SILVER)]
GOLD = [d.name for d in REGISTRY.by_sector("environment", Layer.GOLD)]
OPEN_GOLD = [n for n in GOLD if REGISTRY[n].classification == Classification.PUBLIC]  # alerts are INTERNAL
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
DCAT, DCT, DQV = "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/", "http://www.w3.org/ns/dqv#"


def _fixture_contact() -> dict[str, str]:
    path = FIXTURES / "environment" / "reference" / "wastewater_facilities.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1, "the fixture has one facility; this test erases its officer"
    return rows[0]


CONTACT = _fixture_contact()
DIGITS = re.sub(r"\D", "", CONTACT["contact_phone"])
NATIONAL = DIGITS[2:] if DIGITS.startswith("84") else DIGITS.lstrip("0")  # 9 digits, no trunk or country code
E164 = f"+84{NATIONAL}"
EXPECTED_ID = hmac.new(TEST_KEY.encode(), E164.encode(), hashlib.sha256).hexdigest()
NAME = CONTACT["contact_name"]
PHONE_FORMS = [
    E164,
    f"0{NATIONAL}",
    f"0{NATIONAL[:3]} {NATIONAL[3:6]} {NATIONAL[6:]}",
    f"0{NATIONAL[:3]}.{NATIONAL[3:6]}.{NATIONAL[6:]}",
]


def traces(text: str) -> list[str]:
    """Which of the subject's raw values ``text`` contains (the phone in any written form)."""
    found = []
    if NAME in unicodedata.normalize("NFC", text):
        found.append("name")
    if NATIONAL in re.sub(r"[\s.\-()+]", "", text):
        found.append("phone")
    return found


def _object_text(client: Any, bucket: str, key: str) -> str:
    import pyarrow.parquet as pq

    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    if key.endswith(".parquet"):
        return repr(pq.read_table(io.BytesIO(body)).to_pylist())
    return body.decode("utf-8", errors="replace")


def scan_bucket(bucket: str, prefixes: tuple[str, ...] = ("",)) -> dict[str, list[str]]:
    """Every object under the prefixes (data files, Delta logs and checkpoints) holding a raw value."""
    from jobs.storage import s3_client

    client = s3_client()
    hits = {}
    for prefix in prefixes:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found = traces(_object_text(client, bucket, obj["Key"]))
                if found:
                    hits[obj["Key"]] = found
    return hits


def _landed(bucket: str, key: str) -> dict[str, Any]:
    from jobs.storage import s3_client

    obj = s3_client().get_object(Bucket=bucket, Key=key)
    return {"Body": obj["Body"].read().decode("utf-8"), "Metadata": obj["Metadata"]}


def delta(key: str, version: int | None = None) -> Any:
    from deltalake import DeltaTable

    from jobs.settings import get_settings

    settings = get_settings()
    return DeltaTable(settings.s3_uri(key), version=version, storage_options=settings.delta_rs_storage_options())


def rows(key: str) -> list[dict[str, Any]]:
    return delta(key).to_pyarrow_table().to_pylist()  # type: ignore[no-any-return]


def cli(*argv: str) -> str:
    from jobs.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from jobs.pipeline import publish_gold, run_dataset
    from jobs.settings import get_settings
    from jobs.storage import list_keys, s3_client

    names = ("LAKEHOUSE_PSEUDONYM_KEY", "LAKEHOUSE_PSEUDONYM_KEYS", "LAKEHOUSE_PSEUDONYM_KEY_ID")
    saved_keys = {k: os.environ.get(k) for k in names}
    # The single key of a secrets file from before keyrings (key id `legacy`: HMAC under the key itself,
    # so EXPECTED_ID holds); the keyring and rotation are tested in test_key_rotation.py.
    for k in names:
        os.environ.pop(k, None)
    os.environ["LAKEHOUSE_PSEUDONYM_KEY"] = TEST_KEY
    root = tmp_path_factory.mktemp("privacy")
    sources = copy_fixture_sources(root / "sources")
    try:
        with lake_bucket("privacy", sources, root / "gx") as bucket:
            opendata = f"{bucket}-opendata"
            os.environ["LAKEHOUSE_OPENDATA_BUCKET"] = opendata
            start, end = INTERVAL.as_strings()
            out: dict[str, Any] = {"bucket": bucket, "opendata": opendata, "runs": {}}
            dates: set[str] = set()
            for name in SILVER:
                out["runs"][name] = run_dataset(name, start, end, run_id="privacy")
                dates |= set(out["runs"][name]["dates"])
            for name in GOLD:
                publish_gold(name, sorted(dates))
            settings = get_settings()
            assert settings.opendata_bucket == opendata
            try:
                out["publish_stdout"] = cli("publish")
                out["before"] = {
                    "silver": rows(REGISTRY["wastewater_facility"].table_path),
                    "restricted": rows("restricted/environment/wastewater_facility_contact"),
                    "scan": scan_bucket(bucket, ("silver/", "gold/", "quality/")) | scan_bucket(opendata),
                    "log_scan": scan_bucket(bucket, ("bronze/environment/wastewater_facility/_delta_log/",)),
                    "landing": [k for k in list_keys("landing/environment/wastewater_facility/")],
                    "versions": {
                        k: delta(k).version()
                        for k in (
                            "silver/environment/wastewater_facility",
                            "restricted/environment/wastewater_facility_contact",
                            "bronze/environment/wastewater_facility",
                        )
                    },
                    "gold": {n: rows(REGISTRY[n].table_path) for n in GOLD},
                }
                out["opendata_objects"] = {
                    o["Key"]: s3_client().get_object(Bucket=opendata, Key=o["Key"])["Body"].read()
                    for o in s3_client().list_objects_v2(Bucket=opendata).get("Contents", [])
                }
                yield out
            finally:
                os.environ.pop("LAKEHOUSE_OPENDATA_BUCKET", None)
                client = s3_client()
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=opendata):
                    keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                    if keys:
                        client.delete_objects(Bucket=opendata, Delete={"Objects": keys})
                if any(b["Name"] == opendata for b in client.list_buckets()["Buckets"]):
                    client.delete_bucket(Bucket=opendata)
    finally:
        for k, v in saved_keys.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def erased(lake: dict[str, Any]) -> dict[str, Any]:
    """The subject erased through the CLI with retention 0, and what the lake looks like after."""
    bucket = lake["bucket"]
    out: dict[str, Any] = {}
    out["erase_stdout"] = cli(
        "erase",
        "--subject-phone",
        PHONE_FORMS[2],
        "--retention",
        "0",
        "--reason",
        "Decree 13 request #1",
        "--requested-by",
        "pytest",
    )
    out["after"] = {
        "silver": rows(REGISTRY["wastewater_facility"].table_path),
        "restricted": rows("restricted/environment/wastewater_facility_contact"),
        "bronze": rows("bronze/environment/wastewater_facility"),
        "scan": scan_bucket(bucket),
        "landing": {k: _landed(bucket, k) for k in lake["before"]["landing"]},
        "audit": rows("audit/erasure"),
    }
    old_reads = {}
    for key, version in lake["before"]["versions"].items():
        try:
            delta(key, version).to_pyarrow_table()
            old_reads[key] = "readable"
        except Exception as err:  # any failure to read is what we want
            old_reads[key] = type(err).__name__
    out["old_reads"] = old_reads
    return out


@pytest.fixture(scope="module")
def rerun(erased: dict[str, Any]) -> dict[str, Any]:
    """The same erasure again (by the E.164 form), then the facility pipeline again."""
    from jobs.pipeline import run_dataset

    start, end = INTERVAL.as_strings()
    out: dict[str, Any] = {"stdout": cli("erase", "--subject", f"contact_phone={E164}", "--retention", "0")}
    out["audit"] = sorted(rows("audit/erasure"), key=lambda r: r["requested_at"])
    out["pipeline"] = run_dataset("wastewater_facility", start, end, run_id="after-erasure")
    out["silver"] = rows(REGISTRY["wastewater_facility"].table_path)
    out["restricted"] = rows("restricted/environment/wastewater_facility_contact")
    return out


# ---------------------------------------------------------------------------- (a) pseudonyms only


def test_fixture_contact_is_what_the_test_looks_for() -> None:
    assert NAME and len(NATIONAL) == 9 and E164.startswith("+84")
    assert traces(f"x,{PHONE_FORMS[3]},y") == ["phone"] and traces(f"{NAME}") == ["name"]


def test_no_raw_contact_in_silver_gold_quality_or_open_data(lake: dict[str, Any]) -> None:
    assert lake["before"]["scan"] == {}
    assert lake["before"]["log_scan"] == {}  # bronze keeps no statistics of personal columns


def test_silver_carries_the_keyed_hmac_of_the_e164_phone(lake: dict[str, Any]) -> None:
    (row,) = lake["before"]["silver"]
    assert row["facility_id"] == CONTACT["facility_id"]
    assert row["contact_id"] == EXPECTED_ID and row["contact_id_key_id"] == "legacy"
    assert not {"contact_name", "contact_phone"} & set(row)


def test_restricted_table_holds_the_raw_values(lake: dict[str, Any]) -> None:
    (row,) = lake["before"]["restricted"]
    assert (row["facility_id"], row["contact_id"], row["contact_name"], row["contact_phone_e164"]) == (
        CONTACT["facility_id"],
        EXPECTED_ID,
        NAME,
        E164,
    )
    assert row["valid_from"] == FIXTURE_DAY and row["valid_to"] is None
    assert row["_batch_id"] == INTERVAL.batch_id("wastewater_facility")


# ------------------------------------------------------------------------------------ (b) erasure


def test_erasure_leaves_the_facility_without_its_officer(erased: dict[str, Any]) -> None:
    (row,) = erased["after"]["silver"]
    assert row["facility_id"] == CONTACT["facility_id"] and row["contact_id"] is None
    assert row["contact_id_key_id"] is None
    assert erased["after"]["restricted"] == []
    (bronze,) = erased["after"]["bronze"]
    assert bronze["contact_name"] is None and bronze["contact_phone"] is None
    assert bronze["_raw_line"].startswith(f"{CONTACT['facility_id']},") and traces(bronze["_raw_line"]) == []


def test_no_readable_trace_anywhere_in_the_lake(erased: dict[str, Any]) -> None:
    """Every object of the bucket: data files, Delta logs and checkpoints, landing, audit."""
    assert erased["after"]["scan"] == {}


def test_landing_object_rewritten_without_the_subject_and_marked(erased: dict[str, Any]) -> None:
    (obj,) = erased["after"]["landing"].values()
    text = obj["Body"]
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 2 and lines[0].endswith("contact_name,contact_phone")
    assert lines[1] == ",".join(list(CONTACT.values())[:-2]) + ",,"
    assert (
        obj["Metadata"]["erased-lines"] == "1"
        and obj["Metadata"]["erasure-id"] == erased["after"]["audit"][0]["erasure_id"]
    )


def test_versions_before_the_erasure_can_no_longer_be_read(lake: dict[str, Any], erased: dict[str, Any]) -> None:
    assert set(erased["old_reads"]) == set(lake["before"]["versions"])
    assert "readable" not in erased["old_reads"].values(), erased["old_reads"]


def test_audit_records_counts_without_the_raw_value(lake: dict[str, Any], erased: dict[str, Any]) -> None:
    (first,) = erased["after"]["audit"]
    assert first["pseudonyms"] == [EXPECTED_ID]
    assert first["subject_column"] == "contact_phone"
    assert {t["table"]: (t["action"], t["rows"]) for t in first["tables"]} == {
        "silver/environment/wastewater_facility": ("pseudonym removed", 1),
        "restricted/environment/wastewater_facility_contact": ("deleted", 1),
        "bronze/environment/wastewater_facility": ("redacted", 1),
        "quarantine/environment/wastewater_facility": ("redacted", 0),
    }
    assert first["rows_total"] == 3 and first["landing_objects"] == lake["before"]["landing"]
    assert (first["retention_hours"], first["requested_by"], first["reason"]) == (0.0, "pytest", "Decree 13 request #1")
    assert first["completed_at"] >= first["requested_at"]
    assert traces(json.dumps(first, default=str)) == []
    assert "no longer readable" in erased["erase_stdout"] and "1 row(s)" in erased["erase_stdout"]


def test_rerunning_the_erasure_changes_nothing_but_is_audited(rerun: dict[str, Any]) -> None:
    first, second = rerun["audit"]
    assert second["pseudonyms"] == first["pseudonyms"] == [EXPECTED_ID]
    assert second["rows_total"] == 0 and second["landing_objects"] == []
    assert [t["table"] for t in second["tables"]] == [t["table"] for t in first["tables"]]
    assert all(t["rows"] == 0 for t in second["tables"])
    assert "no landing object held the subject" in rerun["stdout"]


def test_pipeline_rerun_after_erasure_keeps_the_books_and_the_subject_out(rerun: dict[str, Any]) -> None:
    refined = rerun["pipeline"]["refined"]
    assert (refined["landed_rows"], refined["silver_rows"], refined["quarantined_rows"]) == (1, 1, 0)
    (row,) = rerun["silver"]
    assert row["contact_id"] is None
    assert rerun["restricted"] == []


# ---------------------------------------------------------------------------------- (c) open data


def _opendata(lake: dict[str, Any], key: str) -> bytes:
    return lake["opendata_objects"][key]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", OPEN_GOLD)
def test_csv_and_parquet_hold_the_gold_rows(lake: dict[str, Any], name: str) -> None:
    import pyarrow.parquet as pq

    gold = lake["before"]["gold"][name]
    assert gold, f"fixture should give {name} rows"
    parsed = list(csv.DictReader(io.StringIO(_opendata(lake, f"environment/{name}/{name}.csv").decode("utf-8"))))
    assert len(parsed) == len(gold)
    assert list(parsed[0]) == REGISTRY[name].column_names
    table = pq.read_table(io.BytesIO(_opendata(lake, f"environment/{name}/{name}.parquet")))
    assert table.num_rows == len(gold) and table.column_names == REGISTRY[name].column_names
    key = REGISTRY[name].natural_key
    assert sorted(tuple(r[k] for k in key) for r in table.to_pylist()) == sorted(tuple(g[k] for k in key) for g in gold)


def _expanded(lake: dict[str, Any], key: str) -> dict[str, Any]:
    from pyld import jsonld

    (node,) = jsonld.expand(json.loads(_opendata(lake, key)))
    return node  # type: ignore[no-any-return]


def _values(node: dict[str, Any], term: str) -> list[Any]:
    return [v.get("@value", v.get("@id")) for v in node.get(term, [])]


def _built_from(name: str) -> set[str]:
    """Every table ``name`` is computed from, however indirectly (air_station feeds aqi_province_daily)."""
    return {i for i in REGISTRY[name].inputs} | {j for i in REGISTRY[name].inputs for j in _built_from(i)}


@pytest.mark.parametrize("name", OPEN_GOLD)
def test_metadata_expands_to_dcat_ap(lake: dict[str, Any], name: str) -> None:
    ds, gold = REGISTRY[name], lake["before"]["gold"][name]
    node = _expanded(lake, f"environment/{name}/dataset.jsonld")
    assert node["@type"] == [f"{DCAT}Dataset"]
    assert {(t["@language"], t["@value"]) for t in node[f"{DCT}title"]} == {("vi", ds.title_vi), ("en", ds.title_en)}
    assert {t["@language"] for t in node[f"{DCT}description"]} == {"vi", "en"}
    (publisher,) = node[f"{DCT}publisher"]
    assert publisher["@type"] == ["http://xmlns.com/foaf/0.1/Organization"]
    assert {"vi": ds.owner.value}.items() <= {
        n["@language"]: n["@value"] for n in publisher["http://xmlns.com/foaf/0.1/name"]
    }.items()
    assert _values(node, f"{DCT}license") == ["https://creativecommons.org/licenses/by/4.0/"]
    assert _values(node, f"{DCT}accrualPeriodicity") == [
        "http://publications.europa.eu/resource/authority/frequency/DAILY"
    ]
    (temporal,) = node[f"{DCT}temporal"]
    days = sorted(g["date"] for g in gold)
    assert _values(temporal, f"{DCAT}startDate") == [days[0].isoformat()]
    assert _values(temporal, f"{DCAT}endDate") == [days[-1].isoformat()]
    codes = {loc[f"{DCT}identifier"][0]["@value"] for loc in node[f"{DCT}spatial"]}
    assert codes == {g["province_code"] for g in gold if g["province_code"]}
    assert _values(node, f"{DCT}modified")[0][:4] == str(date.today().year)
    distributions = node[f"{DCAT}distribution"]
    assert len(distributions) == 2
    for dist in distributions:
        (url,) = _values(dist, f"{DCAT}downloadURL")
        key = url.split(f"/{lake['opendata']}/", 1)[1]
        assert _values(dist, f"{DCAT}byteSize") == [str(len(_opendata(lake, key)))]
        assert _values(dist, f"{DCAT}mediaType")[0].startswith("https://www.iana.org/assignments/media-types/")
    measurements = node[f"{DQV}hasQualityMeasurement"]
    assert measurements, "gold inherits its silver inputs' latest scores"
    inputs = {n for n in _built_from(name) if REGISTRY[n].layer == Layer.SILVER}
    scored = {
        (lake_name, criterion): score
        for lake_name, run in lake["runs"].items()
        if lake_name in inputs
        for criterion, score in run["scores"].items()
    }
    got = {}
    for m in measurements:
        (computed_on,) = _values(m, f"{DQV}computedOn")
        (metric,) = m[f"{DQV}isMeasurementOf"]
        criterion = next(
            v["@value"] for v in metric["http://www.w3.org/2004/02/skos/core#prefLabel"] if v["@language"] == "vi"
        )
        got[(computed_on.rsplit("/", 1)[1], criterion)] = float(_values(m, f"{DQV}value")[0])
    assert got == scored


def test_catalog_lists_every_public_gold_dataset(lake: dict[str, Any]) -> None:
    node = _expanded(lake, "catalog.jsonld")
    assert node["@type"] == [f"{DCAT}Catalog"]
    listed = {d[f"{DCT}identifier"][0]["@value"] for d in node[f"{DCAT}dataset"]}
    assert listed == {REGISTRY[n].qualified_name for n in OPEN_GOLD}
    assert "catalog:" in lake["publish_stdout"]
