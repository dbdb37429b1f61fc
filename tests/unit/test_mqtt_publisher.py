"""What the MQTT publisher sends for each line of a file (no broker): ids, topics, payloads, send times."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sample_sources.servers.mqtt_publisher import day_of, records

DAY = date(2026, 11, 26)


def test_csv_lines_become_json_records_with_replayed_send_times(tmp_path: Path) -> None:
    path = tmp_path / "readings_20261126.csv"
    path.write_text(
        "station_id,value,measured_at\n"
        "AQ-01-0001,1.5,2026-11-26T03:00:00+07:00\n"  # moves the clock to 03:00
        "AQ-01-0002,2.5,2026-11-25T23:00:00+07:00\n"  # yesterday's hour re-sent late: clock stays
        'AQ-01-0003,"3.5\n'  # unclosed quote: not a record, sent raw
        "AQ/+#,4.5,26/11/2026 05:00\n"  # local format (no offset): clock stays; unsafe topic chars
        "AQ-01-0001,5.5,2026-11-27T01:00:00+07:00\n",  # beyond the day: clock stays within the day
        encoding="utf-8",
    )
    recs = list(records(path, "t/air", topic_field="station_id", event_time="measured_at", day=DAY, live=False))
    assert [r.message_id for r in recs] == [f"readings_20261126:{n}" for n in (2, 3, 4, 5, 6)]
    assert [r.sent_at for r in recs] == ["2026-11-26T03:00:00+07:00"] * 5
    assert [r.topic for r in recs] == [
        "t/air/AQ-01-0001",
        "t/air/AQ-01-0002",
        "t/air/_unparsed",
        "t/air/AQ___",
        "t/air/AQ-01-0001",
    ]
    assert recs[0].payload.decode() == (
        '{"station_id":"AQ-01-0001","value":"1.5","measured_at":"2026-11-26T03:00:00+07:00"}'
    )  # the record only: the envelope travels as MQTT v5 user properties
    assert json.loads(recs[0].payload) == {
        "station_id": "AQ-01-0001",
        "value": "1.5",
        "measured_at": "2026-11-26T03:00:00+07:00",
    }
    assert recs[2].payload == b'AQ-01-0003,"3.5'


def test_send_time_starts_at_local_midnight_and_never_goes_back(tmp_path: Path) -> None:
    path = tmp_path / "pings.jsonl"
    lines = [
        {"ts": "garbage"},
        {"ts": "2026-11-26T10:00:00+07:00"},
        {"ts": "2026-11-26T02:00:00Z"},  # 09:00 local: earlier than the clock
        {"ts": "2026-11-26T04:30:00Z"},  # 11:30 local
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n[1, 2]\n", encoding="utf-8")
    recs = list(records(path, "t/gps", topic_field=None, event_time="ts", day=DAY, live=False))
    assert [r.sent_at for r in recs] == [
        "2026-11-26T00:00:00+07:00",
        "2026-11-26T10:00:00+07:00",
        "2026-11-26T10:00:00+07:00",
        "2026-11-26T11:30:00+07:00",
        "2026-11-26T11:30:00+07:00",
    ]
    assert [r.message_id for r in recs] == [f"pings:{n}" for n in range(1, 6)]  # JSON lines: no header
    assert {r.topic for r in recs} == {"t/gps"}
    assert recs[1].payload == b'{"ts": "2026-11-26T10:00:00+07:00"}'  # a JSON line is sent as it is
    assert recs[4].payload == b"[1, 2]"  # not an object: sent as it is too


def test_day_of_reads_the_date_in_the_file_name() -> None:
    assert day_of(Path("readings_20261126.csv")) == DAY
    with pytest.raises(SystemExit, match="--date"):
        day_of(Path("readings.csv"))
