"""The ``gtfs`` channel: a GTFS static feed (one zip) fetched once per interval, validated, and one
member file handed to landing per dataset.

Each GTFS dataset names its member (``Source.options["member"]``, e.g. ``stops.txt``). The zip is
downloaded once per data interval into a staging folder shared by the feed's datasets (a lock
keeps parallel tasks from fetching it twice), through the HTTP channel's resumable download
(``options["kind"] = "download"``, ``options["path"]`` under the HTTP source) or, with
``LAKEHOUSE_EXTRACT_FROM=local``, read from the local drop ``Source.path``.

Validation (:func:`validate_feed`, once per zip): a feed without a required file or a required
column is refused with a :class:`~jobs.errors.DataError` naming it, since no retry fixes that. The
feed is then read with gtfs-kit, and row-level problems (times that are not ``H:MM:SS`` — hours
past 24 are valid —, trips whose ``stop_sequence`` goes back) are reported in the log and left to
the silver row rules, which quarantine exactly those rows with a reason.

The landed payload is the member as CSV with exactly the registered columns, in order, led by
``feed_version`` (GTFS lets feeds order columns freely and add optional ones): the feed's
``feed_info.txt`` ``feed_version``, or the zip's sha256 when the feed states none. That version is
also the batch's ``source_version``. A record whose field count differs from its header is passed
through as its raw fields, so bronze flags it malformed instead of it being silently re-shaped.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from jobs import extract as channels
from jobs.errors import DataError
from jobs.extract import Extracted, formatted
from jobs.guards import CappedReader, check_zip
from jobs.interval import DataInterval
from jobs.payload import SourceMissingError
from jobs.registry import Channel, Dataset
from jobs.settings import InputLimits, Settings

log = logging.getLogger(__name__)

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
CALENDAR_FILES = ("calendar.txt", "calendar_dates.txt")
REPORT_NAME = "validation.json"


class GtfsFeedError(DataError):
    """The feed breaks the GTFS reference in a way no row-level quarantine can absorb."""


@dataclass
class FeedReport:
    """What validation found: the feed's version and its row-level problems (not fatal)."""

    sha256: str
    feed_version: str
    version_from: str  # "feed_info" | "sha256"
    rows: dict[str, int] = field(default_factory=dict)  # member -> data records
    bad_times: int = 0
    times_past_midnight: int = 0
    trips_out_of_order: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            sha.update(chunk)
    return sha.hexdigest()


def _members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Basename → archive name of the feed's files (files must sit at the zip's root, per GTFS)."""
    return {PurePosixPath(n).name: n for n in zf.namelist() if "/" not in n.strip("/") and not n.endswith("/")}


def _header(zf: zipfile.ZipFile, name: str) -> list[str]:
    with zf.open(name) as raw:
        first = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="").readline()
    return [h.strip() for h in next(csv.reader([first]), [])]


def check_structure(
    zip_path: Path, required_fields: dict[str, tuple[str, ...]], limits: InputLimits | None = None
) -> dict[str, str]:
    """Refuse a feed that is unsafe to open (:func:`jobs.guards.check_zip`: a bomb, ``../`` or absolute
    entry names), or lacks a required file or column; returns basename → archive name."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        raise GtfsFeedError(
            f"GTFS feed {zip_path.name} is not a zip archive ({err}); ask the publisher to resend the feed."
        ) from err
    with zf:
        check_zip(zf, f"GTFS feed {zip_path.name}", limits or InputLimits())
        members = _members(zf)
        missing = [f for f in REQUIRED_FILES if f not in members]
        if not any(f in members for f in CALENDAR_FILES):
            missing.append("calendar.txt or calendar_dates.txt")
        if missing:
            raise GtfsFeedError(
                f"GTFS feed {zip_path.name} lacks required file(s): {', '.join(missing)} (GTFS reference: agency, "
                "stops, routes, trips, stop_times, and calendar and/or calendar_dates). Nothing was landed; ask the "
                "publisher for a complete feed."
            )
        for name, wanted in required_fields.items():
            if name not in members:
                continue
            have = _header(zf, members[name])
            lacking = [c for c in wanted if c not in have]
            if lacking:
                raise GtfsFeedError(
                    f"GTFS feed {zip_path.name}: {name} lacks required column(s) {lacking} (header: {have}). "
                    "Nothing was landed; ask the publisher to fix the feed."
                )
    return members


def _feed_version(zip_path: Path, sha256: str) -> tuple[str, str]:
    with zipfile.ZipFile(zip_path) as zf:
        members = _members(zf)
        if "feed_info.txt" in members:
            with zf.open(members["feed_info.txt"]) as raw:
                for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")):
                    version = (row.get("feed_version") or "").strip()
                    if version:
                        return version, "feed_info"
    return sha256, "sha256"


def validate_feed(
    zip_path: Path, required_fields: dict[str, tuple[str, ...]], limits: InputLimits | None = None
) -> FeedReport:
    """Safety and structure first (fatal; nothing is unzipped before), then gtfs-kit's reading of the
    tables (row problems reported)."""
    import gtfs_kit
    from gtfs_kit.helpers import timestr_to_seconds

    check_structure(zip_path, required_fields, limits)
    sha256 = _sha256(zip_path)
    version, version_from = _feed_version(zip_path, sha256)
    report = FeedReport(sha256, version, version_from)
    try:
        feed = gtfs_kit.read_feed(zip_path, dist_units="km")
    except (ValueError, TypeError) as err:  # e.g. a non-integer stop_sequence: silver quarantines those rows
        log.warning("gtfs-kit could not type every table of %s (%s); silver judges the rows", zip_path.name, err)
        return report
    for table in ("agency", "stops", "routes", "trips", "stop_times", "calendar", "calendar_dates"):
        df = getattr(feed, table, None)
        if df is not None:
            report.rows[f"{table}.txt"] = len(df)
    st = feed.stop_times
    for column in ("arrival_time", "departure_time"):
        given = st[column].dropna()
        seconds = given.map(timestr_to_seconds)
        report.bad_times += int(seconds.isna().sum())
        report.times_past_midnight += int((seconds >= 24 * 3600).sum())
    # stop_sequence must increase along a trip, in file order (gaps allowed); an exact duplicate line
    # is not a step back (silver removes it as a duplicate)
    st = st.drop_duplicates()
    steps = st.groupby("trip_id", sort=False)["stop_sequence"].diff()
    report.trips_out_of_order = sorted(set(st.loc[steps <= 0, "trip_id"].astype(str)))
    if report.bad_times or report.trips_out_of_order:
        log.warning(
            "GTFS feed %s (version %s): %d malformed times, trips with stop_sequence going back: %s; "
            "their rows are quarantined in silver",
            zip_path.name,
            version,
            report.bad_times,
            report.trips_out_of_order[:20],
        )
    return report


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def feed_folder(dataset: Dataset, interval: DataInterval, settings: Settings) -> Path:
    """Staging shared by every dataset of one feed for one interval (the zip is fetched once)."""
    assert dataset.source is not None
    feed = hashlib.sha256(formatted(dataset.source.path, interval).encode()).hexdigest()[:12]
    return settings.staging_dir / "_gtfs_feeds" / f"{feed}__{interval.token}"


def fetch_feed(dataset: Dataset, interval: DataInterval, settings: Settings) -> tuple[Path, str, FeedReport]:
    """The interval's feed zip, where it came from, and its validation report (each once per interval)."""
    assert dataset.source is not None
    folder = feed_folder(dataset, interval, settings)
    with _locked(folder):
        if settings.extract_from == "local":
            zip_path = settings.source_root / formatted(dataset.source.path, interval)
            if not zip_path.is_file():
                raise SourceMissingError(
                    f"{dataset.name}: no GTFS feed {zip_path} for data interval {interval.start:%Y-%m-%d %H:%M} UTC. "
                    "Generate the sample sources (`make sample`) or set LAKEHOUSE_SOURCE_ROOT; the task retries."
                )
            source_name = zip_path.name
        else:
            downloaded = channels.adapter(Channel.HTTP).extract(dataset, interval, settings, folder / "zip")
            zip_path, source_name = downloaded.path, downloaded.source_name
        report_path = folder / REPORT_NAME
        sha256 = _sha256(zip_path)
        cached = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
        if cached and cached.get("sha256") == sha256:
            report = FeedReport(**cached)
        else:
            required = dataset.source.options.get("required_fields") or {}  # from the registry entry
            report = validate_feed(zip_path, {str(m): tuple(f) for m, f in dict(required).items()}, settings.limits)
            report_path.write_text(json.dumps(asdict(report)), encoding="utf-8")
    return zip_path, source_name, report


def write_member(
    zip_path: Path, member: str, columns: tuple[str, ...], version: str, out: Path, limits: InputLimits | None = None
) -> int:
    """Write ``member`` as CSV with ``columns`` (the first, ``feed_version``, filled with ``version``);
    returns the records written. Atomic: a crash leaves no partial file under ``out``. The member is
    streamed through a cap (``limits.max_zip_member_bytes``), so a member that inflates past the
    limit whatever its header says is refused, never written out whole."""
    limits = limits or InputLimits()
    data_columns = columns[1:]
    tmp = out.with_name(out.name + ".part")
    count = 0
    with zipfile.ZipFile(zip_path) as zf:
        check_zip(zf, f"GTFS feed {zip_path.name}", limits)
        members = _members(zf)
        if member not in members:
            raise GtfsFeedError(
                f"GTFS feed {zip_path.name} has no {member}; its files: {sorted(members)}. Ask the publisher to "
                "add it, or remove the dataset reading it from the registry."
            )
        what = f"GTFS feed {zip_path.name}: {member}"
        with zf.open(members[member]) as raw, tmp.open("w", encoding="utf-8", newline="") as fh:
            capped = io.BufferedReader(CappedReader(raw, limits.max_zip_member_bytes, what))
            reader = csv.reader(io.TextIOWrapper(capped, encoding="utf-8-sig", newline=""))
            header = [h.strip() for h in next(reader, [])]
            at = {c: header.index(c) for c in data_columns if c in header}
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            for fields in reader:
                if fields == []:
                    continue  # blank line
                if len(fields) != len(header):
                    writer.writerow([version, *fields])  # malformed: kept as sent, bronze flags it
                else:
                    writer.writerow([version, *[fields[at[c]] if c in at else "" for c in data_columns]])
                count += 1
    tmp.replace(out)
    return count


def extract(dataset: Dataset, interval: DataInterval, settings: Settings, staging: Path) -> Extracted:
    """The dataset's member of the interval's (validated) feed, as CSV, with the feed's version."""
    if dataset.source is None or "member" not in dataset.source.options:
        raise ValueError(f"{dataset.name}: a gtfs Source needs options['member'] (e.g. 'stops.txt')")
    member = str(dataset.source.options["member"])
    zip_path, source_name, report = fetch_feed(dataset, interval, settings)
    staging.mkdir(parents=True, exist_ok=True)
    out = staging / member.replace(".txt", ".csv")
    write_member(zip_path, member, dataset.source.columns, report.feed_version, out, settings.limits)
    return Extracted(out, f"{source_name}#{member}", None, report.feed_version, "csv")
