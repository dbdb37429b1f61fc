"""The ``gtfs`` channel against the real HTTP source server: one download per interval (resumed after
a dropped connection), validation (a missing required file or column is refused naming it; times
past 24:00 and stop_sequence gaps pass; a trip going back is reported), one member landed per
dataset with the feed version in every row."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.extract.gtfs import GtfsFeedError, extract, validate_feed
from jobs.interval import DataInterval
from jobs.registry import REGISTRY
from jobs.settings import Settings
from jobs.transport.datasets import GTFS_PATH, GTFS_REQUIRED_FIELDS
from tests.lakehouse_fixtures import FIXTURE_DAY, FIXTURES

FEED = FIXTURES / "transport" / "gtfs" / "hanoi_bus_gtfs.zip"
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)


def _rewrite(src: Path, dst: Path, drop: str | None = None, replace: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name != drop:
                zout.writestr(name, (replace or {}).get(name, zin.read(name)))
    return dst


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[object, str, Path]]:
    from sample_sources.servers.http_api import serve_in_thread

    root = tmp_path / "sources"
    (root / GTFS_PATH).parent.mkdir(parents=True)
    shutil.copy(FEED, root / GTFS_PATH)
    srv, url = serve_in_thread(root)
    try:
        yield srv, url, root
    finally:
        srv.shutdown()  # type: ignore[attr-defined]
        srv.server_close()  # type: ignore[attr-defined]


def _settings(tmp_path: Path, url: str, root: Path, local: bool = False) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        source_root=root,
        http_source_url=url,
        extract_from="local" if local else "channel",
        http_attempts=3,
    )


def test_validation_with_gtfs_kit_accepts_times_past_midnight_and_gaps() -> None:
    report = validate_feed(FEED, dict(GTFS_REQUIRED_FIELDS))
    assert report.feed_version == "HNBUS-2026.11" and report.version_from == "feed_info"
    assert report.bad_times == 0
    # by hand from the generator's core trips: R02-WK-LATE 24:10, 24:40, 25:10 (×2 for arrival and
    # departure = 6) and R03-XT-1 24:30, 25:00, 25:30 (6): 12 times past 24:00, all valid
    assert report.times_past_midnight == 12
    assert report.trips_out_of_order == ["R02-WK-3"]  # 1, 2, 4, 3
    assert report.rows["stop_times.txt"] == 50 and report.rows["stops.txt"] == 13


@pytest.mark.parametrize("missing", ["stops.txt", "agency.txt", "stop_times.txt"])
def test_a_feed_without_a_required_file_is_refused_naming_it(tmp_path: Path, missing: str) -> None:
    bad = _rewrite(FEED, tmp_path / "feed.zip", drop=missing)
    with pytest.raises(GtfsFeedError, match=rf"lacks required file\(s\): {missing}"):
        validate_feed(bad, dict(GTFS_REQUIRED_FIELDS))


def test_a_feed_without_any_calendar_is_refused(tmp_path: Path) -> None:
    no_cal = _rewrite(FEED, tmp_path / "a.zip", drop="calendar.txt")
    validate_feed(no_cal, dict(GTFS_REQUIRED_FIELDS))  # calendar_dates alone is allowed
    neither = _rewrite(no_cal, tmp_path / "b.zip", drop="calendar_dates.txt")
    with pytest.raises(GtfsFeedError, match=r"calendar\.txt or calendar_dates\.txt"):
        validate_feed(neither, dict(GTFS_REQUIRED_FIELDS))


def test_a_member_without_a_required_column_is_refused_naming_it(tmp_path: Path) -> None:
    text = zipfile.ZipFile(FEED).read("trips.txt").decode().replace("service_id", "svc")
    bad = _rewrite(FEED, tmp_path / "feed.zip", replace={"trips.txt": text.encode()})
    with pytest.raises(GtfsFeedError, match=r"trips.txt lacks required column\(s\) \['service_id'\]"):
        validate_feed(bad, dict(GTFS_REQUIRED_FIELDS))


def test_over_http_the_zip_is_fetched_once_and_resumed_after_a_drop(
    tmp_path: Path, server: tuple[object, str, Path]
) -> None:
    srv, url, root = server
    settings = _settings(tmp_path, url, root)
    size = (root / GTFS_PATH).stat().st_size
    srv.faults.drop_after(f"/files/{GTFS_PATH}", size // 2)  # type: ignore[attr-defined]
    stops = extract(REGISTRY["gtfs_stop"], INTERVAL, settings, tmp_path / "s1")
    times = extract(REGISTRY["gtfs_stop_time"], INTERVAL, settings, tmp_path / "s2")
    zip_gets = [r for r in srv.faults.requests if r[1].startswith(f"/files/{GTFS_PATH}") and r[0] == "GET"]  # type: ignore[attr-defined]
    zip_gets = [r for r in zip_gets if not r[1].endswith(".manifest.json")]
    assert len(zip_gets) == 2  # the dropped transfer, then one ranged request for the rest; none for stop_times
    assert zip_gets[1][2] == f"bytes={size // 2}-"
    assert stops.version == times.version == "HNBUS-2026.11"
    assert stops.source_name == f"{url}/files/{GTFS_PATH}#stops.txt"
    rows = list(csv.reader(io.StringIO(stops.path.read_text(encoding="utf-8"))))
    assert rows[0] == list(REGISTRY["gtfs_stop"].source.columns)  # type: ignore[union-attr]
    assert len(rows) == 1 + 13 and {r[0] for r in rows[1:]} == {"HNBUS-2026.11"}
    assert rows[1][1:4] == ["S01", "GL01", "Bến xe Gia Lâm"]


def test_local_drop_reads_the_same_feed(tmp_path: Path) -> None:
    root = tmp_path / "sources"
    (root / GTFS_PATH).parent.mkdir(parents=True)
    shutil.copy(FEED, root / GTFS_PATH)
    settings = _settings(tmp_path, "http://127.0.0.1:9", root, local=True)
    got = extract(REGISTRY["gtfs_calendar_date"], INTERVAL, settings, tmp_path / "s")
    assert got.source_name == "hanoi_bus_gtfs.zip#calendar_dates.txt"
    assert got.path.read_text(encoding="utf-8").splitlines() == [
        "feed_version,service_id,date,exception_type",
        "HNBUS-2026.11,XT,20261126,1",
        "HNBUS-2026.11,WK,20270101,2",
        "HNBUS-2026.11,WE,20270101,1",
    ]
