"""The ``http`` channel: CSV exports, paginated JSON APIs and JSON(-LD) documents over HTTP.

``Source.options["kind"]`` says which:

- ``download`` (``path`` like ``/files/agriculture/crop_stats_{date:%Y%m%d}.csv``): streamed to
  ``staging/<name>.part``; after a dropped connection the next attempt asks only for the missing
  bytes (``Range`` + ``If-Range`` with the strong ETag, so a file that changed meanwhile is sent
  whole instead of being spliced). Renamed to its final name only when the byte count equals the
  ``Content-Length``/``Content-Range`` total. ``<path>.manifest.json`` (``{"rows": N}``), when the
  source publishes one, is the stated count.
- ``pages`` (``path`` like ``/api/pages/agriculture/ocop_products.jsonl``, ``limit``, default 500):
  follows ``next_cursor``; each page is saved to staging as it arrives with the cursor that follows
  it, so a retry resumes after the last saved page. The next page is fetched while the current one is
  written (one page ahead: a cursor API allows no more), so the API's time and ours overlap. Landed
  as JSON lines; the API's ``total`` is the stated count, and items fetched ≠ total is a ``DataError``.
- ``document`` (``records`` = dotted path to the record list, e.g. ``epcisBody.eventList``): the raw
  document is kept in staging, its records are landed as JSON lines.

Connection errors, timeouts and 5xx are retried in-process with exponential backoff and jitter
(``LAKEHOUSE_HTTP_ATTEMPTS``); a 404 means the source has nothing for the interval yet
(``SourceMissingError``: the task retries later). ``version`` is the source's ETag.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

from jobs.errors import DataError
from jobs.extract import Extracted, formatted
from jobs.extract.retry import RetryAfter, with_retries
from jobs.interval import DataInterval
from jobs.payload import SourceMissingError
from jobs.registry import Dataset
from jobs.settings import Settings

DEFAULT_PAGE_LIMIT = 500
TRANSIENT: tuple[type[BaseException], ...] = (httpx.TransportError, ConnectionError, TimeoutError)


class _ShortTransfer(ConnectionError):
    """The body ended before the length the server announced (connection dropped)."""


def extract(dataset: Dataset, interval: DataInterval, settings: Settings, staging: Path) -> Extracted:
    """Fetch the interval's payload from the HTTP source into ``staging`` (resuming what is there)."""
    if dataset.source is None:
        raise ValueError(f"{dataset.name} has no source: it is built from other tables, not extracted")
    options = dataset.source.options
    kind = options.get("kind")
    if "path" not in options or kind not in ("download", "pages", "document"):
        raise ValueError(
            f"{dataset.name}: an http Source needs options kind = download | pages | document and a path, "
            f"got {dict(options)!r}; fix its entry in jobs/<sector>/datasets.py."
        )
    url = settings.http_source_url.rstrip("/") + "/" + formatted(str(options["path"]), interval).lstrip("/")
    staging.mkdir(parents=True, exist_ok=True)
    # HTTPS checked against the deployment's CA, and the API's bearer token on every request.
    auth = {"Authorization": f"Bearer {settings.http_token}"} if settings.http_token else {}
    verify: ssl.SSLContext | bool = settings.tls_context() if url.startswith("https://") else True
    with httpx.Client(timeout=settings.http_timeout_seconds, headers=auth, verify=verify) as client:
        fetch = _Fetcher(client, dataset.name, url, settings.http_attempts)
        if kind == "download":
            return fetch.download(staging)
        if kind == "pages":
            return fetch.pages(staging, int(options.get("limit", DEFAULT_PAGE_LIMIT)))
        records = options.get("records")
        if not records:
            raise ValueError(f"{dataset.name}: a document Source needs options['records'] (e.g. 'epcisBody.eventList')")
        return fetch.document(staging, str(records))


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}  # type: ignore[no-any-return]


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Atomic: a crash leaves the old state or the new one, never half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""One record as compact JSON in UTF-8 (one encoder for every record: ``json.dumps`` builds one per call)."""


class _Fetcher:
    def __init__(self, client: httpx.Client, dataset: str, url: str, attempts: int) -> None:
        self.client = client
        self.dataset = dataset
        self.url = url
        self.attempts = attempts

    def _retry(self, what: str, fn: Callable[[int], Any]) -> Any:
        return with_retries(f"{self.dataset}: {what} {self.url}", fn, self.attempts, TRANSIENT)

    def _check(self, response: httpx.Response, url: str | None = None) -> None:
        """404 → nothing for this interval yet; 5xx/429 → transient; other non-2xx → the request is wrong."""
        url = url or self.url
        status = response.status_code
        if status == 404:
            raise SourceMissingError(
                f"{self.dataset}: the HTTP source has nothing at {url} yet (404). The task retries, so data "
                "published later is picked up; for the sample sources run `make sample` and `make sources`."
            )
        if status == 401:
            raise DataError(
                f"{self.dataset}: the HTTP source refused our bearer token (401) at {url}; check "
                "LAKEHOUSE_HTTP_TOKEN (.state/secrets.env for the sample sources)."
            )
        if status >= 500 or status == 429:
            raise RetryAfter(f"HTTP {status} from {url}", _retry_after(response))
        if status not in (200, 206):
            raise DataError(f"{self.dataset}: HTTP {status} from {url}; check the Source options in the registry.")

    # --- download -------------------------------------------------------------------------

    def download(self, staging: Path) -> Extracted:
        name = PurePosixPath(httpx.URL(self.url).path).name or "payload"
        final, part, meta_path = staging / name, staging / f"{name}.part", staging / "download.json"

        def attempt(_: int) -> None:
            meta = _read_json(meta_path)
            have = part.stat().st_size if part.is_file() else 0
            etag = meta.get("etag")
            headers = {"Accept-Encoding": "identity"}  # byte ranges of the file itself, not of a gzip stream
            if have and etag and not etag.startswith("W/"):
                headers |= {"Range": f"bytes={have}-", "If-Range": etag}
            with self.client.stream("GET", self.url, headers=headers) as response:
                if response.status_code == 416:  # staged bytes beyond the file: start over
                    part.unlink(missing_ok=True)
                    raise RetryAfter(f"range {have}- not satisfiable at {self.url}", 0)
                self._check(response)
                if response.status_code == 206:
                    start, _sep, total_text = response.headers["Content-Range"].removeprefix("bytes ").partition("/")
                    if int(start.split("-")[0]) != have:
                        part.unlink(missing_ok=True)
                        raise RetryAfter(f"server resumed at {start}, not at byte {have}", 0)
                    total: int | None = int(total_text)
                    mode = "ab"
                else:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length is not None else None
                    mode = "wb"
                _write_json(meta_path, {"etag": response.headers.get("ETag"), "total": total})
                with part.open(mode) as fh:
                    for chunk in response.iter_raw():  # as received: a drop keeps every byte that arrived
                        fh.write(chunk)
            size = part.stat().st_size
            if total is not None and size != total:
                raise _ShortTransfer(f"{size} of {total} bytes received from {self.url}")
            os.replace(part, final)

        if not final.is_file():  # complete from an earlier try: do not fetch again
            self._retry("download", attempt)
        meta = _read_json(meta_path)
        if "stated_rows" not in meta:
            meta["stated_rows"] = self._retry("manifest", lambda _: self._manifest_rows())
            _write_json(meta_path, meta)
        return Extracted(final, self.url, meta["stated_rows"], meta.get("etag"))

    def _manifest_rows(self) -> int | None:
        url = self.url + ".manifest.json"
        response = self.client.get(url)
        if response.status_code == 404:
            return None
        self._check(response, url)
        try:
            rows = response.json()["rows"]
        except (ValueError, KeyError, TypeError) as err:
            raise DataError(f'{url}: not a valid manifest ({err}); expected JSON like {{"rows": 1234}}.') from err
        if not isinstance(rows, int) or rows < 0:
            raise DataError(f'{url}: "rows" must be a non-negative integer, got {rows!r}.')
        return rows

    # --- pages ----------------------------------------------------------------------------

    def pages(self, staging: Path, limit: int) -> Extracted:
        pages_dir = staging / "pages"
        pages_dir.mkdir(exist_ok=True)
        state_path = pages_dir / "state.json"

        def restart(reason: str) -> None:
            for f in pages_dir.iterdir():
                f.unlink()
            raise RetryAfter(f"{reason}; paging again from the start", 0)

        def get(cursor: str | None) -> tuple[httpx.Response, Any]:
            """One page: the response and its parsed body (or the parse error, raised by the caller)."""
            params: dict[str, str | int] = {"limit": limit}
            if cursor is not None:
                params["cursor"] = cursor
            response = self.client.get(self.url, params=params)
            if response.status_code != 200:
                return response, None
            try:
                return response, response.json()
            except ValueError as err:
                return response, err

        def attempt(_: int) -> None:
            state = _read_json(state_path) or {"pages": 0, "items": 0, "total": None, "cursor": None, "etags": []}
            if state.get("done"):
                return
            # Page ahead: the next page is fetched (and parsed) while this one is written, so the
            # API's time and ours overlap. Only a saved page moves the saved cursor; a page fetched
            # ahead and lost in a crash is fetched again from it.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.dataset}-page") as ahead:
                pending = ahead.submit(get, state["cursor"])
                while not state.get("done"):
                    response, page = pending.result()
                    if response.status_code == 400 and state["cursor"] is not None:
                        restart(f"the API refused saved cursor {state['cursor']!r} ({response.text[:200]})")
                    self._check(response)
                    if isinstance(page, ValueError):
                        raise _ShortTransfer(f"page {state['pages'] + 1} is not JSON ({page})") from page
                    total, items, cursor = page.get("total"), page.get("items"), page.get("next_cursor")
                    if not isinstance(total, int) or not isinstance(items, list) or not isinstance(cursor, str | None):
                        raise DataError(
                            f"{self.dataset}: {self.url} page {state['pages'] + 1} is not "
                            '{"total": int, "items": [...], "next_cursor": str|null}; is the path a paginated endpoint?'
                        )
                    if state["total"] is not None and total != state["total"]:
                        restart(f"the source changed while paging (total {state['total']} → {total})")
                    if cursor is not None and cursor == state["cursor"]:
                        raise DataError(
                            f"{self.dataset}: {self.url} returned the same cursor {cursor!r} again (a loop)."
                        )
                    if cursor is not None:
                        pending = ahead.submit(get, cursor)
                    index = state["pages"] + 1
                    tmp = pages_dir / f"{index:07d}.jsonl.tmp"
                    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
                        fh.writelines(_dumps(item) + "\n" for item in items)
                    os.replace(tmp, pages_dir / f"{index:07d}.jsonl")
                    state = {
                        "pages": index,
                        "items": state["items"] + len(items),
                        "total": total,
                        "cursor": cursor,
                        "etags": [*state["etags"], response.headers.get("ETag", "")],
                        "done": cursor is None,
                    }
                    _write_json(state_path, state)

        self._retry("pages", attempt)
        state = _read_json(state_path)
        if state["items"] != state["total"]:
            raise DataError(
                f"{self.dataset}: {self.url} states total={state['total']} records but its {state['pages']} pages "
                f"held {state['items']} items. The source is inconsistent; ask its owner to republish, then rerun "
                f"the task (delete {staging} to page again from the start)."
            )
        out = staging / (PurePosixPath(httpx.URL(self.url).path).stem + ".jsonl")
        with out.open("wb") as dst:
            for index in range(1, state["pages"] + 1):
                dst.write((pages_dir / f"{index:07d}.jsonl").read_bytes())
        version = hashlib.sha256("\n".join(state["etags"]).encode()).hexdigest()[:32]
        return Extracted(out, self.url, state["total"], f"pages:{version}", format="jsonl")

    # --- document -------------------------------------------------------------------------

    def document(self, staging: Path, records: str) -> Extracted:
        name = PurePosixPath(httpx.URL(self.url).path).name or "document.json"
        raw, meta_path = staging / f"raw-{name}", staging / "document.json"

        def attempt(_: int) -> None:
            response = self.client.get(self.url)
            self._check(response)
            tmp = raw.with_name(raw.name + ".part")
            tmp.write_bytes(response.content)
            os.replace(tmp, raw)
            _write_json(meta_path, {"etag": response.headers.get("ETag")})

        if not raw.is_file():
            self._retry("document", attempt)
        try:
            node: Any = json.loads(raw.read_bytes())
        except ValueError as err:
            raise DataError(f"{self.dataset}: {self.url} is not a JSON document ({err}).") from err
        for step in records.split("."):
            if not isinstance(node, dict) or step not in node:
                raise DataError(
                    f"{self.dataset}: {self.url} has no {records!r} (missing {step!r}); fix options['records'] or the "
                    "document."
                )
            node = node[step]
        if not isinstance(node, list):
            raise DataError(f"{self.dataset}: {records!r} in {self.url} is a {type(node).__name__}, not a list.")
        out = staging / (PurePosixPath(name).stem + ".jsonl")
        with out.open("w", encoding="utf-8", newline="\n") as fh:
            for record in node:
                fh.write(_dumps(record) + "\n")
        return Extracted(out, self.url, None, _read_json(meta_path).get("etag"), format="jsonl")
