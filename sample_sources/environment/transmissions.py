"""Split a day's wastewater readings into per-transmission files, as stations push them by FTP.

Why: under Circular 10/2021/TT-BTNMT each continuous-monitoring station sends one small file per
transmission (here: per facility station per measured hour) to the authority's FTP server; the
lakehouse collects those files, not a tidy daily export. This turns the generator's daily CSV into
that tree, so the FTP channel is fed the same rows the local-drop file holds:

    <root>/environment/wastewater/<YYYY-MM-DD>/<facility>_<station>_<YYYYMMDDHH>0000.csv  (header + rows)
    <root>/environment/wastewater/<YYYY-MM-DD>/_manifest.json   {"rows": N}  (the day's stated count)

Every data line of the daily file goes, byte for byte, into exactly one transmission file, in file
order: a line is filed under its facility, station and hour (its time in ISO form or in the local
'dd/mm/yyyy HH:MM' form a station may send); a line whose own fields cannot say
(garbage, an impossible timestamp) travels in the transmission of the line before it, as a broken
record does inside a real transmission. Late lines (yesterday's hours) become late files named
after their hour. The day's directory is rebuilt from scratch (``processed/`` included), so a
regenerated day is collected again.

Usage::

    python -m sample_sources.environment.transmissions --root DIR [--date 2026-11-26] [--days 1]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

READINGS = "environment/wastewater/readings_{day:%Y%m%d}.csv"
DAY_DIR = "environment/wastewater/{day:%Y-%m-%d}"
MANIFEST = "_manifest.json"
_ID = re.compile(rb"^[A-Z]{2}-\d{2}-\d{4}$")
_STATION = re.compile(rb"^[A-Z]{2}-\d{2}-\d{4}-S\d+$")
_STAMP = re.compile(rb"(?<![\d])(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:[+-]\d{2}:\d{2}|Z)")
# A station's local-time form, 'dd/mm/yyyy HH:MM' (Asia/Ho_Chi_Minh): its line still names its own hour.
LOCAL_TIME = r"(?<![\d/])(\d{2})/(\d{2})/(\d{4}) ([01]\d|2[0-3]):[0-5]\d(?![\d:])"
_LOCAL_STAMP = re.compile(LOCAL_TIME.encode())


def transmission_key(line: bytes) -> tuple[str, str, str] | None:
    """(facility, station, YYYYMMDDHH) of a data line, or None when the line cannot say."""
    fields = line.split(b",", 2)
    if len(fields) < 3 or not _ID.match(fields[0]) or not _STATION.match(fields[1]):
        return None
    stamp = _STAMP.search(fields[2])
    if stamp is not None:
        y, m, d, h = (int(g) for g in stamp.groups())
    elif (local := _LOCAL_STAMP.search(fields[2])) is not None:
        d, m, y, h = (int(g) for g in local.groups())
    else:
        return None
    try:
        date(y, m, d)
    except ValueError:
        return None
    return fields[0].decode(), fields[1].decode(), f"{y:04d}{m:02d}{d:02d}{h:02d}"


def file_name(key: tuple[str, str, str]) -> str:
    facility, station, hour = key
    return f"{facility}_{station}_{hour}0000.csv"


def split_day(root: Path, day: date) -> dict[str, int]:
    """Write the day's transmission tree from its daily file; return {"files": n, "rows": n}."""
    source = root / READINGS.format(day=day)
    if not source.is_file():
        raise SystemExit(f"{source} does not exist: generate the day first (`make sample`).")
    out = root / DAY_DIR.format(day=day)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    seen: set[str] = set()
    rows = 0
    current: tuple[str, str, str] | None = None
    handle: BinaryIO | None = None
    waiting: list[bytes] = []  # lines before the first one that names its transmission
    with source.open("rb") as src:
        header = src.readline()
        if not header.endswith(b"\n"):
            header += b"\n"

        def switch(key: tuple[str, str, str]) -> BinaryIO:
            nonlocal handle
            if handle is not None:
                handle.close()
            name = file_name(key)
            handle = (out / name).open("ab")
            if name not in seen:
                seen.add(name)
                handle.write(header)
            return handle

        for line in src:
            if not line.strip():
                continue
            if not line.endswith(b"\n"):
                line += b"\n"
            rows += 1
            key = transmission_key(line)
            if key is None and current is None:
                waiting.append(line)
                continue
            if key is not None and key != current:
                current = key
                fh = switch(key)
                fh.writelines(waiting)
                waiting.clear()
            assert handle is not None
            handle.write(line)
    if handle is not None:
        handle.close()
    if waiting:  # not one line named a transmission: keep them in one file for the day
        with (out / file_name(("XX-00-0000", "XX-00-0000-S0", f"{day:%Y%m%d}00"))).open("wb") as fh:
            fh.write(header)
            fh.writelines(waiting)
        seen.add("unknown")
    (out / MANIFEST).write_text(json.dumps({"rows": rows}) + "\n", encoding="utf-8")
    return {"files": len(seen), "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, required=True, help="source root the generator wrote into")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 26), help="first day (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args(argv)
    for i in range(args.days):
        day = args.date + timedelta(days=i)
        result = split_day(args.root, day)
        print(f"{DAY_DIR.format(day=day)}: {result['files']} transmission files, {result['rows']} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
