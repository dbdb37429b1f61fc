"""A generic HTTP API over the source root: file downloads, paginated JSON lines, JSON documents.

Why: ministries publish statistics as CSV exports, registries as paginated JSON APIs and
traceability data as EPCIS JSON-LD documents. This server gives the extract adapters the same
protocol features they must cope with in the field (strong ETags, conditional and ranged requests,
opaque cursors, 503s, connections dropped mid-body) over whatever the generators wrote.

Routes (``<relpath>`` is relative to ``--root``; anything escaping it is a 404):

- ``GET|HEAD /files/<relpath>``: the bytes; strong ETag (sha256 of the content), ``If-None-Match``
  → 304, ``Range: bytes=N-`` / ``bytes=N-M`` → 206 with ``Content-Range`` (honoured only when an
  ``If-Range`` ETag still matches), unsatisfiable → 416.
- ``GET /api/pages/<relpath.jsonl>?limit=N&cursor=C``: ``{"total", "items", "next_cursor"}``; the
  cursor is the byte offset of the next line (base64url), so it stays valid across retries.
- ``GET|HEAD /api/document/<relpath.json|.jsonld>``: the document as is, with ETag.

Every request needs ``Authorization: Bearer <LAKEHOUSE_HTTP_TOKEN>`` (else 401), and the server
speaks HTTPS only (certificate of infra/gen_tls.py next to ``LAKEHOUSE_TLS_CA``): a ministry's API
is neither anonymous nor readable on the wire.

Usage::

    python -m sample_sources.servers.http_api [--root DIR] [--port 8780]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import re
import socket
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HOST = "127.0.0.1"
DEFAULT_PORT = 8780
CHUNK = 64 * 1024
MAX_PAGE = 10_000
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


# ---------------------------------------------------------------------------------------------
# Fault injection (tests)
# ---------------------------------------------------------------------------------------------


@dataclass
class Faults:
    """Failures the next requests will meet; thread-safe, each consumed once it fires.

    ``drop_after(path, n, skip=s)``: after ``s`` matching requests pass untouched, the next response
    to a request whose path starts with ``path`` sends its headers and ``n`` body bytes, then the
    connection is cut. ``fail(k, status, skip=s)``: likewise, the next ``k`` matching requests get
    ``status`` (503 by default, ``Retry-After: 0``). ``total_bias``: added to every page's stated
    ``total`` while set (a source that misstates its count). ``requests`` logs every request as
    (method, path with query, Range header or None).
    """

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _drops: list[list[Any]] = field(default_factory=list)
    _failures: list[list[Any]] = field(default_factory=list)
    total_bias: int = 0
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def drop_after(self, path: str, nbytes: int, times: int = 1, skip: int = 0) -> None:
        with self._lock:
            self._drops.append([path, nbytes, times, skip])

    def fail(self, times: int = 1, status: int = 503, path: str = "/", skip: int = 0) -> None:
        with self._lock:
            self._failures.append([path, status, times, skip])

    def clear(self) -> None:
        with self._lock:
            self._drops.clear()
            self._failures.clear()
            self.requests.clear()
            self.total_bias = 0

    @property
    def pending(self) -> int:
        """Faults armed but not fired yet (a test must end with 0)."""
        with self._lock:
            return sum(entry[2] for entry in self._drops + self._failures)

    def _take(self, queue: list[list[Any]], path: str) -> int | None:
        with self._lock:
            for entry in queue:
                prefix, value, _times, skip = entry
                if not path.startswith(prefix):
                    continue
                if skip:
                    entry[3] -= 1
                    return None
                entry[2] -= 1
                if entry[2] <= 0:
                    queue.remove(entry)
                return int(value)
        return None

    def take_failure(self, path: str) -> int | None:
        return self._take(self._failures, path)

    def take_drop(self, path: str) -> int | None:
        return self._take(self._drops, path)

    def record(self, method: str, path: str, range_header: str | None) -> None:
        with self._lock:
            self.requests.append((method, path, range_header))


class _DropConnection(Exception):
    """The injected fault fired: cut the connection without finishing the response."""


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


class SourceHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server that knows its source root, faults and content digests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, root: Path, port: int, token: str, tls: ssl.SSLContext) -> None:
        if not token:
            raise SystemExit(
                "LAKEHOUSE_HTTP_TOKEN is not set: run `make sources` (it generates .state/secrets.env), then "
                "`set -a; . .state/secrets.env; set +a`."
            )
        self.root = root.resolve()
        self.token = token
        self.tls = tls
        self.faults = Faults()
        self._digests: dict[tuple[str, int, int], str] = {}
        self._line_counts: dict[tuple[str, int, int], int] = {}
        self._cache_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        """TLS on every accepted connection; the handshake runs in the request's thread (first read),
        so a client that never completes it cannot stall the accept loop."""
        sock, addr = self.socket.accept()
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that is not speaking TLS (or does not trust the CA) is just disconnected."""

    def authorized(self, header: str | None) -> bool:
        scheme, _, value = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())

    @property
    def base_url(self) -> str:
        return f"https://{HOST}:{self.server_address[1]}"

    def _stamp(self, path: Path) -> tuple[str, int, int]:
        st = path.stat()
        return str(path), st.st_size, st.st_mtime_ns

    def etag(self, path: Path) -> str:
        """Strong ETag: sha256 of the content, computed once per file version (size, mtime)."""
        stamp = self._stamp(path)
        with self._cache_lock:
            cached = self._digests.get(stamp)
        if cached is None:
            sha = hashlib.sha256()
            with path.open("rb") as fh:
                while chunk := fh.read(1024 * 1024):
                    sha.update(chunk)
            cached = f'"{sha.hexdigest()}"'
            with self._cache_lock:
                self._digests[stamp] = cached
        return cached

    def line_count(self, path: Path) -> int:
        """Non-blank lines of a JSON-lines file (the ``total`` every page states)."""
        stamp = self._stamp(path)
        with self._cache_lock:
            cached = self._line_counts.get(stamp)
        if cached is None:
            with path.open("rb") as fh:
                cached = sum(1 for line in fh if line.strip())
            with self._cache_lock:
                self._line_counts[stamp] = cached
        return cached


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not raw.startswith("o:") or not raw[2:].isdigit():
        return None
    return int(raw[2:])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SourceHTTPServer
    server_version = "LakehouseSampleAPI/1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and `make sources` do not need an access log on stderr."""

    # --- dispatch

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _dispatch(self, head: bool) -> None:
        faults = self.server.faults
        faults.record(self.command, self.path, self.headers.get("Range"))
        url = urlsplit(self.path)
        path = unquote(url.path)
        self._drop_at: int | None = None
        self._sent = 0
        try:
            if not self.server.authorized(self.headers.get("Authorization")):
                self._json_error(HTTPStatus.UNAUTHORIZED, "a bearer token is required (Authorization: Bearer …)")
                return
            status = faults.take_failure(path)
            if status is not None:
                self._json_error(status, f"injected fault {status}", retry_after=0)
                return
            self._drop_at = faults.take_drop(path)
            if path.startswith("/files/"):
                self._file(path[len("/files/") :], head, ranged=True)
            elif path.startswith("/api/document/"):
                self._file(path[len("/api/document/") :], head, ranged=False)
            elif path.startswith("/api/pages/") and not head:
                self._pages(path[len("/api/pages/") :], parse_qs(url.query))
            else:
                self._json_error(HTTPStatus.NOT_FOUND, f"no route for {path}")
        except _DropConnection:
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # --- helpers

    def _resolve(self, relpath: str) -> Path | None:
        root = self.server.root
        target = (root / relpath).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        return target

    def _write(self, data: bytes) -> None:
        """Write body bytes, cutting the connection where an injected drop says so."""
        if self._drop_at is not None and self._sent + len(data) >= self._drop_at:
            self.wfile.write(data[: max(self._drop_at - self._sent, 0)])
            raise _DropConnection
        self.wfile.write(data)
        self._sent += len(data)

    def _send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str], head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self._write(body)

    def _json_error(self, status: int, message: str, retry_after: int | None = None) -> None:
        body = json.dumps({"error": message}).encode()
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == HTTPStatus.UNAUTHORIZED:
            headers["WWW-Authenticate"] = 'Bearer realm="lakehouse sample sources"'
        self._send_body(status, body, "application/json", headers, head=self.command == "HEAD")

    # --- routes

    def _file(self, relpath: str, head: bool, ranged: bool) -> None:
        target = self._resolve(relpath)
        if target is None:
            self._json_error(HTTPStatus.NOT_FOUND, f"no such file: {relpath}")
            return
        etag = self.server.etag(target)
        size = target.stat().st_size
        ctype = {".csv": "text/csv", ".json": "application/json", ".jsonld": "application/ld+json"}.get(
            target.suffix, "application/octet-stream"
        )
        common = {"ETag": etag, "Accept-Ranges": "bytes" if ranged else "none"}
        if etag in [t.strip() for t in self.headers.get("If-None-Match", "").split(",")]:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for k, v in common.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = 0, size - 1
        status: int = HTTPStatus.OK
        range_header = self.headers.get("Range") if ranged else None
        if_range = self.headers.get("If-Range")
        if range_header and (if_range is None or if_range.strip() == etag):
            m = _RANGE.match(range_header.strip())
            if m is None or int(m.group(1)) >= size:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(end - start + 1 if size else 0))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        for k, v in common.items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return
        remaining = end - start + 1 if size else 0
        with target.open("rb") as fh:
            fh.seek(start)
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                self._write(chunk)
                remaining -= len(chunk)

    def _pages(self, relpath: str, query: dict[str, list[str]]) -> None:
        target = self._resolve(relpath)
        if target is None or target.suffix != ".jsonl":
            self._json_error(HTTPStatus.NOT_FOUND, f"no such JSON-lines file: {relpath}")
            return
        try:
            limit = int(query.get("limit", ["500"])[0])
        except ValueError:
            limit = -1
        if not 1 <= limit <= MAX_PAGE:
            self._json_error(HTTPStatus.BAD_REQUEST, f"limit must be an integer in 1..{MAX_PAGE}")
            return
        offset = 0
        if "cursor" in query:
            decoded = _decode_cursor(query["cursor"][0])
            if decoded is None or decoded > target.stat().st_size:
                self._json_error(HTTPStatus.BAD_REQUEST, "invalid cursor: restart without one")
                return
            offset = decoded
        items: list[Any] = []
        with target.open("rb") as fh:
            fh.seek(offset)
            while len(items) < limit:
                line = fh.readline()
                if not line:
                    break
                if line.strip():
                    items.append(json.loads(line))
            # look ahead: a cursor only when another record follows
            next_offset = fh.tell()
            more = any(line.strip() for line in iter(fh.readline, b""))
        page = {
            "total": self.server.line_count(target) + self.server.faults.total_bias,
            "items": items,
            "next_cursor": _encode_cursor(next_offset) if more else None,
        }
        body = json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        if etag in [t.strip() for t in self.headers.get("If-None-Match", "").split(",")]:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send_body(HTTPStatus.OK, body, "application/json; charset=utf-8", {"ETag": etag}, head=False)


def serve_in_thread(
    root: Path, port: int = 0, token: str | None = None, tls: ssl.SSLContext | None = None
) -> tuple[SourceHTTPServer, str]:
    """Start the server on 127.0.0.1 in a daemon thread; stop it with ``server.shutdown(); server.server_close()``.

    Token and TLS default to the deployment's (``LAKEHOUSE_HTTP_TOKEN``, the local CA's server certificate).
    """
    from sample_sources.env import SourceEnv

    env = SourceEnv()
    server = SourceHTTPServer(
        root, port, token if token is not None else env.http_token, tls or env.server_tls_context()
    )
    threading.Thread(target=server.serve_forever, name="http-source", daemon=True).start()
    return server, server.base_url


def main(argv: Sequence[str] | None = None) -> int:
    from sample_sources.env import SourceEnv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=None, help="directory to serve (default: the source root)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    env = SourceEnv()
    root = args.root or env.source_root
    server = SourceHTTPServer(root, args.port, env.http_token, env.server_tls_context())
    print(f"HTTP source API on {server.base_url} serving {server.root}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
