"""``make bench-live`` publishes the air file hour by hour: each line with the hour it names."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.live import split_air_by_hour

HEADER = "station_id,station_name,province_code,parameter,value,unit,measured_at,device_status\n"
AT_00 = "KK-01-0001,Trạm A,01,PM2.5,20.1,µg/Nm³,2026-11-26T00:00:00+07:00,measuring\n"
LOCAL_07 = "KK-01-0002,Trạm B,01,PM2.5,22.4,µg/Nm³,26/11/2026 07:00,measuring\n"
LATE = "KK-01-0003,Trạm C,01,PM2.5,19.0,µg/Nm³,2026-11-25T22:00:00+07:00,measuring\n"
BROKEN = "KK-01-0004,Trạm D\n"
AT_01 = "KK-01-0001,Trạm A,01,PM2.5,21.0,µg/Nm³,2026-11-26T01:00:00+07:00,measuring\n"


def test_each_line_goes_with_the_hour_it_names_in_either_form(tmp_path: Path) -> None:
    readings = tmp_path / "readings_20261126.csv"
    readings.write_text(HEADER + AT_00 + LOCAL_07 + LATE + BROKEN + AT_01, encoding="utf-8")

    files = split_air_by_hour(readings, tmp_path / "hours", date(2026, 11, 26))

    body = {h: f.read_text(encoding="utf-8").removeprefix(HEADER) for h, f in enumerate(files)}
    assert len(files) == 24
    # the local-form 07:00 line waits for hour 7; the late and the broken line go with the line before
    assert body[0] == AT_00
    assert body[7] == LOCAL_07 + LATE + BROKEN
    assert body[1] == AT_01
    assert all(body[h] == "" for h in range(24) if h not in (0, 1, 7))
