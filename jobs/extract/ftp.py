"""The ``ftp`` channel: per-transmission files that monitoring stations push to an FTP server.

``Source.options["directory"]`` (e.g. ``/environment/wastewater/{date:%Y-%m-%d}``) is the
interval's directory. Only new files are taken: those still in the directory (landed ones are
moved to ``<directory>/processed/``) and not already complete in this batch's staging. Each file is
downloaded to ``staging/files/`` (resumed with ``REST`` after a dropped transfer when the server
supports it, else fetched again) and checked against the size the listing gave. CSV files are then
concatenated into one payload with a single header; every file must have the same header. The
bytes are joined unchanged, but each file's data line count goes with the payload, so landing decides
each transmission's charset from that transmission alone (one TCVN3 file never makes a UTF-8 day
read as legacy bytes).
``_manifest.json`` (``{"rows": N}``) in the directory, when the source publishes one, is the
stated count for the day.

Trade-off: the landing object is the concatenation, so row lineage (``_source_file``) names the
FTP directory, not the transmission file; the batch's file list (name, size) is kept in staging as
``files.json`` for :func:`after_landing`, and its count and digest go into the landed
``source-version``. Files that arrive after the interval's batch was landed stay in the directory
(landing is never overwritten); a 0-byte file is treated as an upload in progress and left for later.
A listed name that is not a plain file name (``../``, ``/``, a backslash, NUL or control characters:
:func:`jobs.guards.unsafe_name`) is refused: never fetched, never written, named in the log and in
``files.json``; the other files of the day are landed as usual.
"""

from __future__ import annotations

import contextlib
import ftplib  # nosec B402  # explicit FTPS only (FTP_TLS, PROT P, server checked against the CA)
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.errors import DataError
from jobs.extract import Extracted, formatted
from jobs.extract.retry import with_retries
from jobs.guards import refused_names
from jobs.interval import DataInterval
from jobs.payload import SourceMissingError
from jobs.registry import Dataset
from jobs.settings import Settings

if TYPE_CHECKING:
    from jobs.payload import LandedBatch

log = logging.getLogger(__name__)

PROCESSED = "processed"
MANIFEST = "_manifest.json"
LISTING = "files.json"
TRANSIENT: tuple[type[BaseException], ...] = (OSError, EOFError, ftplib.error_temp, ftplib.error_reply)
_BOM = b"\xef\xbb\xbf"


class _ShortTransfer(ConnectionError):
    """A download ended before the size the listing gave."""


def _directory(dataset: Dataset, interval: DataInterval) -> str:
    if dataset.source is None or "directory" not in dataset.source.options:
        raise ValueError(
            f"{dataset.name}: an ftp Source needs options['directory'] (e.g. '/environment/x/{{date:%Y-%m-%d}}')"
        )
    return "/" + formatted(str(dataset.source.options["directory"]), interval).strip("/")


def _url(settings: Settings, directory: str) -> str:
    return f"ftp://{settings.ftp_host}:{settings.ftp_port}{directory}/"


@contextmanager
def _session(settings: Settings) -> Iterator[ftplib.FTP_TLS]:
    """A logged-in binary-mode passive session over explicit FTPS (AUTH TLS before the password,
    PROT P for every transfer, the server checked against the CA); a refused login is a
    configuration error, not transient."""
    ftp = ftplib.FTP_TLS(context=settings.tls_context(), timeout=settings.http_timeout_seconds)
    try:
        ftp.connect(settings.ftp_host, settings.ftp_port)
        try:
            ftp.login(settings.ftp_user, settings.ftp_password)  # AUTH TLS first, then USER/PASS
            ftp.prot_p()  # data connections encrypted too
        except ftplib.error_perm as err:
            raise DataError(
                f"FTP login as {settings.ftp_user!r} on {settings.ftp_host}:{settings.ftp_port} refused ({err}). "
                "Check LAKEHOUSE_FTP_USER / LAKEHOUSE_FTP_PASSWORD (generated into .state/secrets.env)."
            ) from err
        ftp.set_pasv(True)
        ftp.voidcmd("TYPE I")
        yield ftp
    finally:
        try:
            ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            ftp.close()


def _list(ftp: ftplib.FTP, directory: str) -> dict[str, int] | None:
    """Regular files of ``directory`` with their sizes (MLSD), or None when it does not exist."""
    try:
        entries = list(ftp.mlsd(directory, facts=["type", "size"]))
    except ftplib.error_perm as err:
        if str(err)[:3] in ("550", "501"):  # no such directory (pyftpdlib says 501 for MLSD)
            return None
        raise
    return {name: int(facts.get("size", 0)) for name, facts in entries if facts.get("type") == "file"}


def _fetch(ftp: ftplib.FTP, remote: str, size: int, target: Path) -> None:
    """Download ``remote`` to ``target``, resuming a ``.part`` with REST; rename only when complete."""
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    if have > size:
        have = 0
    try:
        with part.open("ab" if have else "wb") as fh:
            ftp.retrbinary(f"RETR {remote}", fh.write, rest=have or None)
    except ftplib.error_perm as err:
        if not have or str(err)[:3] not in ("500", "501", "502", "504"):
            raise
        with part.open("wb") as fh:  # the server cannot restart: fetch the whole file again
            ftp.retrbinary(f"RETR {remote}", fh.write)
    got = part.stat().st_size
    if got != size:
        raise _ShortTransfer(f"{remote}: {got} of {size} bytes received")
    os.replace(part, target)


def _header(path: Path) -> bytes:
    with path.open("rb") as fh:
        line = fh.readline()
    return line.rstrip(b"\r\n").removeprefix(_BOM)


def _concatenate(files: list[Path], out: Path, source: str) -> tuple[int, ...]:
    """One CSV payload with a single header: every file's header must equal the first one's.

    Bytes are copied unchanged (landing stays raw); returns each file's data line count, so landing
    can decide each transmission's charset from its own lines.
    """
    expected = _header(files[0])
    counts: list[int] = []
    with out.open("wb") as dst:
        for i, path in enumerate(files):
            with path.open("rb") as src:
                header = src.readline()
                found = header.rstrip(b"\r\n").removeprefix(_BOM)
                if found != expected:
                    raise DataError(
                        f"{source}{path.name}: header {found.decode(errors='replace')!r} differs from "
                        f"{files[0].name}'s {expected.decode(errors='replace')!r}. Every transmission of a dataset "
                        "must have the same columns: ask the station to resend the file in the agreed layout, move the "
                        "bad file out of the directory, and rerun the task."
                    )
                if i == 0:
                    dst.write(header if header.endswith(b"\n") else header + b"\n")
                last = b"\n"
                newlines = 0
                while chunk := src.read(1024 * 1024):
                    dst.write(chunk)
                    newlines += chunk.count(b"\n")
                    last = chunk[-1:]
                if last != b"\n":
                    dst.write(b"\n")
                    newlines += 1
                counts.append(newlines)
    return tuple(counts)


def _manifest_rows(path: Path, source: str) -> int:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(
            f'{source}{MANIFEST}: not a valid manifest ({err}); expected JSON like {{"rows": 1234}}.'
        ) from err
    if not isinstance(rows, int) or rows < 0:
        raise DataError(f'{source}{MANIFEST}: "rows" must be a non-negative integer, got {rows!r}.')
    return rows


def extract(dataset: Dataset, interval: DataInterval, settings: Settings, staging: Path) -> Extracted:
    """Download the directory's new files into staging and concatenate them into one CSV payload."""
    directory = _directory(dataset, interval)
    url = _url(settings, directory)
    files_dir = staging / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, object] = {}

    def attempt(_: int) -> None:
        with _session(settings) as ftp:
            listing = _list(ftp, directory)
            if listing is None:
                raise SourceMissingError(
                    f"{dataset.name}: {url} does not exist yet: no station has pushed a file for "
                    f"{interval.local_start_date}. The task retries; for the sample sources run `make sample` and "
                    "`make sources`."
                )
            processed = set(_list(ftp, f"{directory}/{PROCESSED}") or {})
            manifest = listing.pop(MANIFEST, None)
            refused = refused_names(listing)
            if refused:
                log.warning("%s: %s: refused file names (never fetched): %s", dataset.name, url, refused)
            state["refused"] = refused
            wanted = {
                name: size
                for name, size in listing.items()
                if size > 0
                and name not in processed
                and name not in refused
                and not name.startswith(".")
                and not name.endswith(".part")
            }
            for name, size in sorted(wanted.items()):
                target = files_dir / name
                if target.is_file() and target.stat().st_size == size:
                    continue  # complete from an earlier attempt or try
                _fetch(ftp, f"{directory}/{name}", size, target)
            if manifest is not None:
                _fetch(ftp, f"{directory}/{MANIFEST}", manifest, staging / MANIFEST)
            state["manifest"] = manifest is not None

    with_retries(f"{dataset.name}: FTP {url}", attempt, settings.http_attempts, TRANSIENT)
    files = sorted(p for p in files_dir.iterdir() if not p.name.endswith(".part"))
    if not files:
        raise SourceMissingError(
            f"{dataset.name}: {url} holds no new file (everything there is already in {PROCESSED}/). The task "
            "retries, so files pushed later are picked up."
        )
    listing = [{"name": p.name, "size": p.stat().st_size} for p in files]
    refused = dict(state.get("refused") or {})  # type: ignore[call-overload]
    (staging / LISTING).write_text(
        json.dumps({"directory": directory, "files": listing, "refused": refused}), encoding="utf-8"
    )
    out = staging / f"{dataset.name}_{interval.local_start_date:%Y%m%d}.csv"
    parts = _concatenate(files, out, url)
    stated = _manifest_rows(staging / MANIFEST, url) if state.get("manifest") else None
    digest = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()[:16]
    version = f"{len(files)} files, listing sha256 {digest}" + (f", {len(refused)} names refused" if refused else "")
    return Extracted(out, url, stated, version, format="csv", parts=parts)


def after_landing(dataset: Dataset, interval: DataInterval, settings: Settings, batch: LandedBatch) -> None:
    """Move the landed files to ``<directory>/processed/``; files already moved are fine (idempotent).

    The batch's file list is the staged ``files.json``: it exists until landing removes staging,
    which happens only after this hook returned, so a rerun after a crash finds it again.
    """
    listing_path = settings.staging_dir / dataset.name / batch.batch_id / LISTING
    if not listing_path.is_file():
        log.info("%s: no staged file list for %s; its files were already moved", dataset.name, batch.batch_id)
        return
    directory = _directory(dataset, interval)
    names = [f["name"] for f in json.loads(listing_path.read_text(encoding="utf-8"))["files"]]
    target_dir = f"{directory}/{PROCESSED}"

    def attempt(_: int) -> None:
        with _session(settings) as ftp:
            with contextlib.suppress(ftplib.error_perm):  # already there
                ftp.mkd(target_dir)
            present = _list(ftp, directory) or {}
            for name in names:
                if name in present:
                    ftp.rename(f"{directory}/{name}", f"{target_dir}/{name}")

    with_retries(
        f"{dataset.name}: FTP move to {_url(settings, target_dir)}", attempt, settings.http_attempts, TRANSIENT
    )
