"""The HTTP channel against the real sample HTTP API server and the real store.

Each test starts ``sample_sources.servers.http_api`` in-process on a free port over a copy of the
committed fixture, lands through ``jobs.landing.land`` into a throw-away bucket, and injects faults
(connections cut mid-body, 503s, a misstated total) with the server's own ``faults`` object. The
expected payloads are built here from the source files, not from the adapter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from jobs.errors import DataError
from jobs.interval import DataInterval
from jobs.registry import REGISTRY, Channel, Dataset
from sample_sources.servers.http_api import SourceHTTPServer, serve_in_thread
from tests.lakehouse_fixtures import FIXTURE_DAY, copy_fixture_sources, lake_bucket

INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
CSV_REL = "environment/wastewater/readings_20261126.csv"
CSV_ROWS = 179  # data lines of the committed fixture file (its manifest says the same); checked below
BASE = next(d for d in REGISTRY if d.name == "wastewater_reading")


def http_dataset(fmt: str = "csv", **options: Any) -> Dataset:
    assert BASE.source is not None
    return replace(BASE, source=replace(BASE.source, format=fmt, channel=Channel.HTTP, options=options))


DOWNLOAD = http_dataset(kind="download", path="/files/environment/wastewater/readings_{date:%Y%m%d}.csv")


@dataclass
class Env:
    root: Path
    server: SourceHTTPServer
    staging: Path

    def landed(self, key: str) -> bytes:
        from jobs.settings import get_settings
        from jobs.storage import s3_client

        return s3_client().get_object(Bucket=get_settings().bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]

    def landing_keys(self, dataset: Dataset) -> list[str]:
        from jobs.storage import list_keys

        return list_keys(f"landing/{dataset.sector}/{dataset.name}/")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    root = copy_fixture_sources(tmp_path / "sources")
    server, url = serve_in_thread(root)
    monkeypatch.setenv("LAKEHOUSE_HTTP_SOURCE_URL", url)
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(tmp_path / "state"))
    try:
        with lake_bucket("http", root, tmp_path / "gx", extract_from="channel") as bucket:
            staging = tmp_path / "state" / "staging" / bucket
            yield Env(root, server, staging)
            assert server.faults.pending == 0, "a fault armed by the test never fired"
    finally:
        server.faults.clear()
        server.shutdown()
        server.server_close()


def settings_with(**changes: Any) -> Any:
    from jobs.settings import get_settings

    return replace(get_settings(), **changes)


def land(dataset: Dataset, interval: DataInterval = INTERVAL, **settings: Any) -> Any:
    from jobs.landing import land as land_batch

    return land_batch(dataset, interval, settings_with(**settings) if settings else None)


# --- download ------------------------------------------------------------------------------------


def test_download_resumes_after_a_drop_and_lands_the_exact_bytes_once(env: Env) -> None:
    source = (env.root / CSV_REL).read_bytes()
    assert source.count(b"\n") - 1 == CSV_ROWS
    path = "/files/" + CSV_REL
    env.server.faults.drop_after(path, 5000)

    batch = land(DOWNLOAD)

    assert batch.newly_landed
    assert env.landed(batch.key) == source
    assert batch.sha256 == hashlib.sha256(source).hexdigest()
    assert (batch.data_rows, batch.stated_rows) == (CSV_ROWS, CSV_ROWS)
    assert batch.source_version == f'"{hashlib.sha256(source).hexdigest()}"'
    assert batch.source_file == env.server.base_url + path
    gets = [(p, r) for m, p, r in env.server.faults.requests if p == path]
    assert gets == [(path, None), (path, "bytes=5000-")]  # the retry asked only for the missing bytes
    assert not (env.staging / DOWNLOAD.name / batch.batch_id).exists()  # staging removed after landing

    requests_before = len(env.server.faults.requests)
    again = land(DOWNLOAD)
    assert not again.newly_landed
    assert (again.key, again.sha256, again.data_rows) == (batch.key, batch.sha256, CSV_ROWS)
    assert len(env.server.faults.requests) == requests_before  # a landed batch is not fetched again
    assert env.landing_keys(DOWNLOAD) == [batch.key]


def test_a_failed_try_lands_nothing_and_the_next_try_resumes_from_staging(env: Env) -> None:
    from jobs.payload import landing_key

    source = (env.root / CSV_REL).read_bytes()
    path = "/files/" + CSV_REL
    env.server.faults.drop_after(path, 5000)

    with pytest.raises(ConnectionError, match="failed after 1 attempts"):
        land(DOWNLOAD, http_attempts=1)
    assert env.landing_keys(DOWNLOAD) == []
    batch_dir = env.staging / DOWNLOAD.name / INTERVAL.batch_id(DOWNLOAD.name)
    assert (batch_dir / "readings_20261126.csv.part").read_bytes() == source[:5000]

    batch = land(DOWNLOAD)
    assert batch.newly_landed and batch.key == landing_key(DOWNLOAD, INTERVAL)
    assert env.landed(batch.key) == source
    assert [r for _, p, r in env.server.faults.requests if p == path] == [None, "bytes=5000-"]
    assert env.landing_keys(DOWNLOAD) == [batch.key]


def test_a_file_changed_between_tries_is_fetched_whole_not_spliced(env: Env) -> None:
    path = "/files/" + CSV_REL
    env.server.faults.drop_after(path, 5000)
    with pytest.raises(ConnectionError):
        land(DOWNLOAD, http_attempts=1)

    lines = (env.root / CSV_REL).read_bytes().splitlines(keepends=True)
    changed = b"".join(lines[:-1])  # the source republished the day without its last line
    (env.root / CSV_REL).write_bytes(changed)
    (env.root / (CSV_REL + ".manifest.json")).write_text(json.dumps({"rows": CSV_ROWS - 1}))

    batch = land(DOWNLOAD)
    assert env.landed(batch.key) == changed
    assert (batch.data_rows, batch.stated_rows) == (CSV_ROWS - 1, CSV_ROWS - 1)
    # the resume asked for bytes 5000- only if the ETag still matched; it did not, so a 200 came whole
    assert [r for _, p, r in env.server.faults.requests if p == path] == [None, "bytes=5000-"]


def test_nothing_published_for_the_interval_is_source_missing(env: Env) -> None:
    from jobs.payload import SourceMissingError

    next_day = DataInterval.for_local_day(date(2026, 11, 27))
    with pytest.raises(SourceMissingError, match="404"):
        land(DOWNLOAD, next_day)
    assert env.landing_keys(DOWNLOAD) == []


# --- pages ---------------------------------------------------------------------------------------

REGISTRY_ITEMS = [
    {"product_id": f"OCOP-{i:03d}", "name": name, "stars": 3 + i % 3, "tags": ["chè", "đặc sản"][: i % 3]}
    for i, name in enumerate(
        ["Chè Shan tuyết", "Nước mắm Phú Quốc", "Gạo ST25", "Mật ong bạc hà", "Cà phê Buôn Ma Thuột"] * 4
        + ["Bưởi Diễn", "Nhãn lồng Hưng Yên", "Vải thiều Lục Ngạn"]
    )
]
PAGES_REL = "registry/ocop_products.jsonl"
PAGES = http_dataset("jsonl", kind="pages", path="/api/pages/" + PAGES_REL, limit=5)


def expected_lines(items: list[dict[str, Any]]) -> bytes:
    """One item per line, compact separators, Vietnamese kept as UTF-8 (not \\u escapes)."""
    return "".join(json.dumps(i, ensure_ascii=False, separators=(",", ":")) + "\n" for i in items).encode()


@pytest.fixture
def registry_file(env: Env) -> Path:
    path = env.root / PAGES_REL
    path.parent.mkdir(parents=True)
    # the source writes ASCII-escaped, spaced JSON: the landed form is normalized, the values are not
    path.write_text("".join(json.dumps(i) + "\n" for i in REGISTRY_ITEMS), encoding="utf-8")
    return path


def test_pages_resume_from_the_saved_cursor_across_drops_and_503s(env: Env, registry_file: Path) -> None:
    assert len(REGISTRY_ITEMS) == 23  # 5 pages of 5, 5, 5, 5, 3
    route = "/api/pages/" + PAGES_REL
    env.server.faults.drop_after(route, 40, skip=2)  # the 3rd page is cut after 40 bytes
    with pytest.raises(ConnectionError):
        land(PAGES, http_attempts=1)
    assert env.landing_keys(PAGES) == []
    first_try = [p for _, p, _ in env.server.faults.requests]
    assert len(first_try) == 3 and "cursor=" not in first_try[0]
    third_page = first_try[2]

    env.server.faults.requests.clear()
    env.server.faults.fail(times=1, status=503, path=route)
    env.server.faults.drop_after(route, 10, skip=1)  # and page 4 is cut once too
    batch = land(PAGES)

    second_try = [p for _, p, _ in env.server.faults.requests]
    # 503 on page 3, page 3, page 4 cut, page 4 again, page 5: pages 1-2 were never fetched again
    assert second_try[:2] == [third_page, third_page]
    assert len(second_try) == 5 and all("cursor=" in p for p in second_try)
    assert second_try[2] == second_try[3]
    assert env.landed(batch.key) == expected_lines(REGISTRY_ITEMS)
    assert (batch.data_rows, batch.stated_rows, batch.format) == (23, 23, "jsonl")
    assert batch.key.endswith(".jsonl")


def test_pages_holding_fewer_items_than_the_stated_total_fail_naming_both(env: Env, registry_file: Path) -> None:
    env.server.faults.total_bias = 2
    with pytest.raises(DataError, match=r"total=25 records but its 5 pages held 23 items"):
        land(PAGES)
    assert env.landing_keys(PAGES) == []


# --- document ------------------------------------------------------------------------------------

EVENTS = [
    {
        "type": "ObjectEvent",
        "eventTime": f"2026-11-26T0{h}:15:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "epcList": [f"urn:epc:id:sgtin:8930000.0{h}.{n}" for n in range(2)],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "readPoint": {"id": "urn:epc:id:sgln:8930000.00001.0"},
    }
    for h in range(3)
]
DOC_REL = "traceability/epcis_20261126.jsonld"
DOCUMENT = http_dataset(
    "jsonl",
    kind="document",
    path="/api/document/traceability/epcis_{date:%Y%m%d}.jsonld",
    records="epcisBody.eventList",
)


def test_document_records_land_as_json_lines_with_the_etag(env: Env) -> None:
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-26T23:00:00+07:00",
        "epcisBody": {"eventList": EVENTS},
    }
    raw = json.dumps(doc, indent=2).encode()
    (env.root / DOC_REL).parent.mkdir(parents=True)
    (env.root / DOC_REL).write_bytes(raw)

    batch = land(DOCUMENT)

    assert env.landed(batch.key) == expected_lines(EVENTS)
    assert (batch.data_rows, batch.stated_rows) == (3, None)
    assert batch.source_version == f'"{hashlib.sha256(raw).hexdigest()}"'


def test_document_without_the_record_list_is_a_data_error(env: Env) -> None:
    (env.root / DOC_REL).parent.mkdir(parents=True)
    (env.root / DOC_REL).write_text(json.dumps({"type": "EPCISDocument", "epcisBody": {}}))
    with pytest.raises(DataError, match="missing 'eventList'"):
        land(DOCUMENT)
    assert env.landing_keys(DOCUMENT) == []


@pytest.mark.parametrize("name", ["crop_stats", "ocop_product", "traceability_event"])
def test_registered_agriculture_sources_land_over_http_as_their_local_drop(env: Env, name: str) -> None:
    """The registry's own HTTP options reach the server's routes: each agriculture source lands the
    records of its local-drop file (crop CSV byte for byte; OCOP pages and EPCIS events record for record)."""
    from jobs.extract.file import local_path
    from jobs.landing import land
    from jobs.settings import get_settings

    dataset = REGISTRY[name]
    assert dataset.source is not None and dataset.source.channel == Channel.HTTP
    batch = land(dataset, INTERVAL)
    local = local_path(dataset, INTERVAL, get_settings()).read_bytes()
    landed = env.landed(batch.key)
    if dataset.source.format == "csv":
        assert landed == local
    else:
        assert [json.loads(x) for x in landed.splitlines()] == [json.loads(x) for x in local.splitlines()]
    assert batch.data_rows == len(local.splitlines()) - (1 if dataset.source.format == "csv" else 0) > 10
