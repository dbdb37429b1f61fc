"""The wastewater splitter: every daily line lands in exactly one per-transmission file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sample_sources.environment.transmissions import split_day, transmission_key

HEADER = b"facility_id,station_id,parameter,value,unit,measured_at,device_status\n"
A0 = b"WW-01-0001,WW-01-0001-S1,pH,7.10,-,2026-11-26T00:00:00+07:00,measuring\n"
A0_COD = b"WW-01-0001,WW-01-0001-S1,COD,60.2,mg/L,2026-11-26T00:00:00+07:00,measuring\n"
A0_BAD_TIME = b"WW-01-0001,WW-01-0001-S1,TSS,38.2,mg/L,2026-11-26T25:00:00+07:00,measuring\n"
GARBAGE = b"#@!x\xc3\xa9??~~\n"
B0 = b"WW-79-0002,WW-79-0002-S1,pH,6.90,-,2026-11-26T00:00:00+07:00,measuring\n"
A0_DUP = A0  # an exact duplicate sent later, after another facility's transmission
A_LATE = b"WW-01-0001,WW-01-0001-S1,pH,7.00,-,2026-11-25T23:00:00+07:00,measuring\n"
B7_LOCAL_TIME = b"WW-79-0002,WW-79-0002-S1,pH,7.02,-,26/11/2026 07:00,measuring\n"
B0_BAD_LOCAL_TIME = b"WW-79-0002,WW-79-0002-S1,pH,7.02,-,26/23/2026 00:00,measuring\n"
A1_OPEN_QUOTE = b'WW-01-0001,WW-01-0001-S1,"COD,61.0,mg/L,2026-11-26T01:00:00+07:00,measuring\n'


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (A0, ("WW-01-0001", "WW-01-0001-S1", "2026112600")),
        (A_LATE, ("WW-01-0001", "WW-01-0001-S1", "2026112523")),
        (A1_OPEN_QUOTE, ("WW-01-0001", "WW-01-0001-S1", "2026112601")),
        (B7_LOCAL_TIME, ("WW-79-0002", "WW-79-0002-S1", "2026112607")),
        (A0_BAD_TIME, None),
        (B0_BAD_LOCAL_TIME, None),
        (b"WW-01-0001,WW-01-0001-S1,pH,7,-,2026-13-45T01:00:00+07:00,measuring\n", None),
        (GARBAGE, None),
    ],
)
def test_transmission_key(line: bytes, key: tuple[str, str, str] | None) -> None:
    assert transmission_key(line) == key


def test_split_day_files_every_line_once_with_its_header(tmp_path: Path) -> None:
    daily = tmp_path / "environment" / "wastewater" / "readings_20261126.csv"
    daily.parent.mkdir(parents=True)
    # B7_LOCAL_TIME after A's late line: it names its own station and hour, so it must not ride in
    # A's file of yesterday (that file is copied first, and would hand the stream B's 07:00 at 00:00)
    body = [GARBAGE, A0, A0_COD, A0_BAD_TIME, B0, A0_DUP, A_LATE, B7_LOCAL_TIME, A1_OPEN_QUOTE]
    daily.write_bytes(HEADER + b"".join(body))
    stale = tmp_path / "environment" / "wastewater" / "2026-11-26" / "processed" / "old.csv"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(HEADER)

    result = split_day(tmp_path, date(2026, 11, 26))

    day = daily.parent / "2026-11-26"
    files = {p.name: p.read_bytes() for p in day.iterdir()}
    assert files == {
        # the garbage line before any named one joins the first transmission; the bad time the one it is in
        "WW-01-0001_WW-01-0001-S1_20261126000000.csv": HEADER + GARBAGE + A0 + A0_COD + A0_BAD_TIME + A0_DUP,
        "WW-79-0002_WW-79-0002-S1_20261126000000.csv": HEADER + B0,
        "WW-01-0001_WW-01-0001-S1_20261125230000.csv": HEADER + A_LATE,
        "WW-79-0002_WW-79-0002-S1_20261126070000.csv": HEADER + B7_LOCAL_TIME,
        "WW-01-0001_WW-01-0001-S1_20261126010000.csv": HEADER + A1_OPEN_QUOTE,
        "_manifest.json": json.dumps({"rows": 9}).encode() + b"\n",
    }
    assert result == {"files": 5, "rows": 9}
    assert not stale.exists()  # the day's tree is rebuilt, processed/ included


def test_split_day_without_the_daily_file_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="make sample"):
        split_day(tmp_path, date(2026, 11, 26))
