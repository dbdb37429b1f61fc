"""The environment sample generator: deterministic, and its report tells the truth about its files.

The files are re-read here with a parser written independently of the generator, so a report that
drifts from what was actually written (a kind miscounted, two kinds on one row) fails a test.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.provinces import LEGACY_TO_2025, PROVINCES_2025
from jobs.text import repair_vietnamese, to_tcvn3_mojibake, to_vni_mojibake
from sample_sources.environment import generate as gen

FIXTURE_DIR = Path(__file__).resolve().parents[3] / "sample_sources" / "fixtures"
DAY = date(2026, 11, 26)

AIR_CANONICAL = "\u00b5g/Nm\u00b3"
AIR_UNIT_VARIANTS = {"\u03bcg/Nm\u00b3", "ug/Nm3"}
WATER_CANONICAL = {
    "pH": "-",
    "COD": "mg/L",
    "BOD5": "mg/L",
    "TSS": "mg/L",
    "NH4_N": "mg/L",
    "temperature": "\u00b0C",
    "flow": "m3/h",
}
CLEAN_RANGE = {
    "PM2.5": (5, 120),
    "PM10": (10, 200),
    "NO2": (10, 150),
    "SO2": (5, 100),
    "CO": (500, 8000),
    "O3": (20, 180),
    "pH": (6.0, 8.5),
    "COD": (20, 120),
    "BOD5": (10, 45),
    "TSS": (10, 80),
    "NH4_N": (1, 8),
    "temperature": (25, 38),
    "flow": (50, 500),
}
# The reasons the generator promises must be reasons the registry's row rules can give.
REASON = gen.QUARANTINE_REASON


def test_promised_reasons_are_registered_row_rules() -> None:
    from jobs.registry import REGISTRY

    for dataset in ("air_quality_reading", "wastewater_reading"):
        registered = {rule.reason for rule in REGISTRY[dataset].row_rules}
        assert set(gen.QUARANTINE_REASON.values()) <= registered, dataset


ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")
LOCAL_RE = re.compile(r"^(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2})$")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _parse_time(text: str) -> tuple[datetime, str] | None:
    """(local wall time, form) for the two valid forms, None when invalid."""
    try:
        if ISO_RE.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=None), "iso"
        m = LOCAL_RE.match(text)
        if m:
            d, mo, y, h, mi = (int(g) for g in m.groups())
            return datetime(y, mo, d, h, mi), "local"
    except ValueError:
        return None
    return None


@dataclass
class Analysis:
    data_rows: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    rows: list[tuple[str | None, list[str]]] = field(default_factory=list)  # (kind, fields) of parsed lines


def _analyse(path: Path, air: bool, ref: dict[str, dict[str, str]], day: date) -> Analysis:
    """Classify every data line of a reading file by the mess it carries (at most one each)."""
    text = path.read_bytes().decode("utf-8")
    assert "\r" not in text and text.endswith("\n")
    lines = text.split("\n")[:-1]
    width = 8 if air else 7
    assert len(next(csv.reader([lines[0]]))) == width
    seen: set[str] = set()
    out = Analysis(data_rows=len(lines) - 1)
    for line in lines[1:]:
        if line in seen:
            out.kinds["exact_duplicate"] += 1
            continue
        seen.add(line)
        fields = next(csv.reader([line]))  # line by line, as Spark reads it (multiLine off)
        if len(fields) != width:
            out.kinds["malformed_line"] += 1
            continue
        if air:
            sid, name, prov, param, value, unit, ts, status = fields
        else:
            fid, sid, param, value, unit, ts, status = fields
        found: list[str] = []
        entity = fields[0]
        if entity not in ref:
            found.append("unknown_station")
        elif not air:
            assert sid == f"{fid}-S1"
        if status in ("calibrating", "error"):
            found.append(f"device_{status}")
        else:
            assert status == "measuring"
        try:
            number: float | None = float(value)
        except ValueError:
            number = None
            found.append("non_numeric_value")
        if number is not None:
            assert value.strip() == value and value.lower() not in ("nan", "inf")
            if number < 0:
                found.append("negative_value")
            elif (param == "pH" and number > 14) or (air and number > (1e5 if param == "CO" else 1e4)):
                found.append("impossible_value")
        parsed = _parse_time(ts)
        if parsed is None:
            found.append("bad_timestamp")
        else:
            when, form = parsed
            if form == "local":
                found.append("local_time_format")
                assert when.date() == day
            elif when.date() == day - timedelta(days=1):
                found.append("late_event")
            else:
                assert when.date() == day, ts
        if air:
            if unit in AIR_UNIT_VARIANTS or (param == "CO" and unit == "mg/Nm3"):
                found.append("unit_variant")
            else:
                assert unit == AIR_CANONICAL
            if entity in ref:
                ref_name, ref_prov = ref[entity]["station_name"], ref[entity]["province_code"]
                if name == unicodedata.normalize("NFD", ref_name) and name != ref_name:
                    found.append("nfd_name")
                elif name == to_tcvn3_mojibake(ref_name) and name != ref_name:
                    found.append("tcvn3_name")
                elif name == to_vni_mojibake(ref_name) and name != ref_name:
                    found.append("vni_name")
                else:
                    assert name == ref_name
                if prov != ref_prov:
                    assert prov not in PROVINCES_2025 and LEGACY_TO_2025[prov] == ref_prov
                    found.append("legacy_province_code")
        else:
            if unit in ("mg/l", "g/m\u00b3") and WATER_CANONICAL[param] == "mg/L":
                found.append("unit_variant")
            else:
                assert unit == WATER_CANONICAL[param], (param, unit)
        assert len(found) <= 1, (line, found)
        kind = found[0] if found else None
        if kind is not None:
            out.kinds[kind] += 1
        if (
            kind
            in (None, "late_event", "local_time_format", "nfd_name", "tcvn3_name", "vni_name", "legacy_province_code")
            and number is not None
        ):
            lo, hi = CLEAN_RANGE[param]
            assert lo <= number <= hi, line
        out.rows.append((kind, fields))
    return out


@dataclass
class Run:
    out: Path
    report: dict[str, Any]
    stations: dict[str, dict[str, str]]
    facilities: dict[str, dict[str, str]]

    def reading_files(self) -> list[tuple[str, bool, date]]:
        """(relative path, is air, file day) of every reading file in the report."""
        found = []
        for rel, entry in self.report["files"].items():
            if entry["dataset"] in ("air_quality_reading", "wastewater_reading"):
                day = datetime.strptime(rel.rsplit("_", 1)[1][:8], "%Y%m%d").date()
                found.append((rel, entry["dataset"] == "air_quality_reading", day))
        return sorted(found)

    def analyse(self, rel: str, air: bool, day: date) -> Analysis:
        return _analyse(self.out / rel, air, self.stations if air else self.facilities, day)


def _run(out: Path, rows: int, seed: int = 42, days: int = 1, start: date = DAY) -> Run:
    report = gen.generate(out, start, days, rows, seed, progress=False)
    ref = out / "environment" / "reference"
    stations = {r["station_id"]: r for r in _read_csv(ref / "air_stations.csv")}
    facilities = {r["facility_id"]: r for r in _read_csv(ref / "wastewater_facilities.csv")}
    return Run(out, report, stations, facilities)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("small"), rows=400, seed=7)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("big"), rows=20000, seed=42)


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("two"), rows=2000, seed=3, days=2)


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    gen.generate(tmp_path / "a", DAY, 2, 1500, 11, progress=False)
    gen.generate(tmp_path / "b", DAY, 2, 1500, 11, progress=False)
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    manifests = [k for k in first if k.endswith(".manifest.json")]
    # the report, 2 reference lists, 2 days × 2 reading files, and a row-count manifest beside each source file
    assert len(first) - len(manifests) == 7 and len(manifests) == 6 and first == second
    gen.generate(tmp_path / "c", DAY, 2, 1500, 12, progress=False)
    assert _tree(tmp_path / "c") != first  # the seed matters


def test_committed_fixture_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    gen.generate(tmp_path, date(2026, 11, 26), 1, 400, 7, progress=False)  # the fixture arguments
    committed = {k: v for k, v in _tree(FIXTURE_DIR).items() if k.startswith("environment/")}
    assert committed, "run the generator with the fixture arguments (see module docstring)"
    assert _tree(tmp_path) == committed
    assert sum(len(b) for b in committed.values()) < 100_000


@pytest.mark.parametrize("name", ["small", "big", "two_days"])
def test_report_counts_match_the_files(name: str, request: pytest.FixtureRequest) -> None:
    run: Run = request.getfixturevalue(name)
    for rel, air, day in run.reading_files():
        entry = run.report["files"][rel]
        seen = run.analyse(rel, air, day)
        assert seen.data_rows == entry["data_rows"], rel
        assert {k: v for k, v in entry["mess"].items() if v} == dict(seen.kinds), rel
        quarantine: Counter[str] = Counter()
        for kind, count in seen.kinds.items():
            if kind in REASON:
                quarantine[REASON[kind]] += count
        assert {k: v for k, v in entry["expected_quarantine"].items() if v} == dict(quarantine)
        assert entry["expected_duplicates_removed"] == seen.kinds["exact_duplicate"]
        assert entry["expected_silver_rows"] == (
            seen.data_rows - sum(quarantine.values()) - seen.kinds["exact_duplicate"]
        )
    for rel, dataset, refs in (
        ("environment/reference/air_stations.csv", "air_station", run.stations),
        ("environment/reference/wastewater_facilities.csv", "wastewater_facility", run.facilities),
    ):
        entry = run.report["files"][rel]
        assert entry["dataset"] == dataset
        assert entry["data_rows"] == entry["expected_silver_rows"] == len(refs)


def test_report_file_on_disk_equals_returned_report(small: Run) -> None:
    on_disk = json.loads((small.out / "environment" / "_generation_report.json").read_text(encoding="utf-8"))
    assert on_disk == small.report
    assert {"seed", "start", "days", "rows_per_day", "files", "silent_stations", "expected_outcome"} <= set(on_disk)
    assert set(gen.AIR_RATES) | {"silent_station"} <= set(on_disk["expected_outcome"])


def test_every_kind_appears_at_least_once_at_400_rows(small: Run) -> None:
    for rel, air, _day in small.reading_files():
        mess = small.report["files"][rel]["mess"]
        expected = gen.AIR_RATES if air else gen.WASTEWATER_RATES
        assert set(mess) == set(expected)
        assert all(mess[k] >= 1 for k in expected), (rel, mess)
        if not air:
            assert not set(mess) & set(gen.NAME_KINDS)


def test_rates_within_30_percent_at_20000_rows(big: Run) -> None:
    for rel, air, _day in big.reading_files():
        entry = big.report["files"][rel]
        rates = gen.AIR_RATES if air else gen.WASTEWATER_RATES
        for kind, nominal in rates.items():
            share = entry["mess"][kind] / entry["data_rows"]
            assert abs(share - nominal) <= 0.3 * nominal, (rel, kind, share, nominal)
    total = sum(e["data_rows"] for e in big.report["files"].values() if e["dataset"].endswith("_reading"))
    assert 0.97 * 20000 <= total <= 1.03 * 20000


def test_silent_station_stops_at_noon(small: Run, two_days: Run) -> None:
    for run in (small, two_days):
        silent = run.report["silent_stations"]
        assert silent == [list(run.stations)[-1]]
        for rel, air, day in run.reading_files():
            if not air:
                continue
            hours = set()
            for _kind, fields in run.analyse(rel, air, day).rows:
                if fields[0] == silent[0] and (parsed := _parse_time(fields[6])):
                    hours.add(parsed[0].hour)
                    assert parsed[0] < datetime(day.year, day.month, day.day, gen.SILENT_FROM_HOUR), fields
            assert hours and max(hours) < 12


def test_late_events_fill_hours_missing_from_the_previous_file(two_days: Run) -> None:
    keys: dict[bool, Counter[tuple[str, str, datetime]]] = {True: Counter(), False: Counter()}
    for rel, air, day in two_days.reading_files():
        late = 0
        for kind, fields in two_days.analyse(rel, air, day).rows:
            parsed = _parse_time(fields[-2])
            if kind in ("unknown_station", "bad_timestamp") or parsed is None:
                continue
            keys[air][(fields[0], fields[-5], parsed[0])] += 1
            late += kind == "late_event"
        assert late == two_days.report["files"][rel]["mess"]["late_event"] > 0
    for counter in keys.values():  # duplicates were skipped by the analysis: every key exactly once
        assert max(counter.values()) == 1


def test_reference_data_is_clean_and_uses_2025_codes(big: Run) -> None:
    for sid, row in big.stations.items():
        assert row["province_code"] in PROVINCES_2025
        assert re.fullmatch(rf"AQ-{row['province_code']}-\d{{4}}", sid)
        assert unicodedata.is_normalized("NFC", row["station_name"])
        assert 8.0 <= float(row["latitude"]) <= 23.5 and 102.0 <= float(row["longitude"]) <= 117.5
        date.fromisoformat(row["active_since"])
    for fid, row in big.facilities.items():
        assert row["province_code"] in PROVINCES_2025
        assert re.fullmatch(rf"WW-{row['province_code']}-\d{{4}}", fid)
        assert row["qcvn_column"] in ("A", "B")
        assert float(row["kq"]) in (0.9, 1.0, 1.1, 1.2) and float(row["kf"]) in (0.9, 1.0, 1.1, 1.2)
    assert len({r["station_name"] for r in big.stations.values()}) == len(big.stations)
    assert len({r["province_code"] for r in big.stations.values()}) == len(PROVINCES_2025)


def test_station_names_survive_legacy_encoding_round_trip(big: Run) -> None:
    names = {r["station_name"] for r in big.stations.values()} | {n for n, *_ in gen._KNOWN_AIR_STATIONS}
    for name in names:
        for encode in (to_tcvn3_mojibake, to_vni_mojibake):
            assert encode(name) != name
            assert repair_vietnamese(encode(name)) == name
        assert repair_vietnamese(unicodedata.normalize("NFD", name)) == name


def test_legacy_codes_are_unambiguous(big: Run) -> None:
    air = [(rel, day) for rel, is_air, day in big.reading_files() if is_air]
    seen = 0
    for rel, day in air:
        for kind, fields in big.analyse(rel, True, day).rows:
            if kind == "legacy_province_code":
                seen += 1
                assert fields[2] not in PROVINCES_2025
                assert LEGACY_TO_2025[fields[2]] == big.stations[fields[0]]["province_code"]
    assert seen > 0


def test_cli_writes_the_same_files_as_the_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = gen.main(
        ["--out", str(tmp_path / "cli"), "--rows", "300", "--seed", "5", "--date", "2026-01-02", "--no-progress"]
    )
    assert code == 0 and "reading rows" in capsys.readouterr().out
    gen.generate(tmp_path / "fn", date(2026, 1, 2), 1, 300, 5, progress=False)
    assert _tree(tmp_path / "cli") == _tree(tmp_path / "fn")


def test_entity_counts_scale_with_rows() -> None:
    assert gen.entity_counts(400) == (2, 1)
    air, water = gen.entity_counts(10_000_000)
    share = 1 - sum(gen.AIR_RATES[k] for k in ("exact_duplicate", "malformed_line", "late_event"))
    assert abs(air * 144 - 8_000_000 * share) <= 144 and abs(water * 168 - 2_000_000 * share) <= 168


def test_exceedance_episodes_are_runs_of_over_readings_per_station_parameter_and_limit() -> None:
    t = [f"2026-11-26T{h:02d}:00:00+07:00" for h in range(8)]
    points = [  # given out of order, as files interleave stations and late hours
        ("wastewater", "WW-01-0001-S1", "COD", "max", t[3], True),
        ("wastewater", "WW-01-0001-S1", "COD", "max", t[0], False),
        ("wastewater", "WW-01-0001-S1", "COD", "max", t[1], True),
        ("wastewater", "WW-01-0001-S1", "COD", "max", t[2], True),  # one run 01:00–03:00
        ("wastewater", "WW-01-0001-S1", "COD", "max", t[4], False),
        ("wastewater", "WW-01-0001-S1", "COD", "max", t[5], True),  # a second run
        ("wastewater", "WW-01-0001-S1", "pH", "min", t[1], True),  # pH's own min-limit episode
        ("wastewater", "WW-01-0001-S1", "pH", "max", t[1], False),
        ("air", "AQ-01-0001", "SO2", "max", t[7], True),  # open at the end of the data
    ]
    opened = [
        (e["station_id"], e["parameter"], e["limit_kind"], e["opened_at"]) for e in gen.exceedance_episodes(points)
    ]
    assert opened == [
        ("AQ-01-0001", "SO2", "max", t[7]),
        ("WW-01-0001-S1", "COD", "max", t[1]),
        ("WW-01-0001-S1", "COD", "max", t[5]),
        ("WW-01-0001-S1", "pH", "min", t[1]),
    ]


def test_each_reported_exceedance_opens_on_a_measuring_reading_over_its_qcvn_limit(big: Run) -> None:
    from jobs.environment.limits import air_limit_row, wastewater_limit

    episodes = big.report["exceedance_episodes"]
    assert sum(sum(d.values()) for d in big.report["exceedance_alerts"].values()) == len(episodes) > 10
    rows: dict[tuple[str, str, datetime], list[dict[str, str]]] = {}
    for rel, _air, _day in big.reading_files():
        lines = (big.out / rel).read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        for line in lines[1:]:  # line by line: a malformed line's open quote must not swallow the next
            fields = next(csv.reader([line]))
            if len(fields) != len(header):
                continue
            row = dict(zip(header, fields, strict=True))
            at = _parse_time(row["measured_at"])
            if at is not None:  # either valid form: 'dd/mm/yyyy HH:mm' is the same local time
                rows.setdefault((row["station_id"], row["parameter"], at[0]), []).append(row)
    for e in episodes:
        opened = datetime.fromisoformat(e["opened_at"]).replace(tzinfo=None)
        found = rows[(e["station_id"], e["parameter"], opened)]
        measuring = [r for r in found if r["device_status"] == "measuring"]
        assert measuring, e
        value = float(measuring[0]["value"])
        if e["medium"] == "air":
            limit = air_limit_row(e["parameter"], "1h", DAY)
            assert limit is not None and value > limit["limit_value"], e
        else:
            facility = big.facilities[measuring[0]["facility_id"]]
            low, high = wastewater_limit(
                e["parameter"], facility["qcvn_column"], DAY, float(facility["kq"]), float(facility["kf"])
            )
            assert (value < low) if e["limit_kind"] == "min" else (value > high), e  # type: ignore[operator]


def test_each_reported_device_error_opens_on_a_reading_flagged_error(big: Run) -> None:
    """The device alerts the day must raise: each opens on a reading whose status is 'error', and
    consecutive error readings of one station's parameter are one alert (so fewer than the rows)."""
    episodes = big.report["device_error_episodes"]
    assert sum(sum(d.values()) for d in big.report["device_alerts"].values()) == len(episodes) > 10
    assert {e["medium"] for e in episodes} == {"air", "wastewater"}
    flagged: set[tuple[str, str, datetime]] = set()
    for rel, _air, _day in big.reading_files():
        lines = (big.out / rel).read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        for line in lines[1:]:
            fields = next(csv.reader([line]))
            row = dict(zip(header, fields, strict=True)) if len(fields) == len(header) else {}
            if row.get("device_status") == "error":
                flagged.add((row["station_id"], row["parameter"], datetime.fromisoformat(row["measured_at"])))
    opened = {(e["station_id"], e["parameter"], datetime.fromisoformat(e["opened_at"])) for e in episodes}
    assert len(opened) == len(episodes) and opened <= flagged
    assert len(episodes) <= len(flagged)
