"""An FTP server (pyftpdlib) over the source root: where monitoring stations push their files.

Why: under Circular 10/2021/TT-BTNMT continuous-monitoring stations push one small file per
transmission to the authority's FTP server; the lakehouse collects them from there. The account
``monitor`` (password ``LAKEHOUSE_FTP_PASSWORD`` from ``.state/secrets.env``) may list, read,
create directories and rename, so the collector can move landed files to ``processed/``.

Explicit FTPS only (AUTH TLS, then PROT P: login and every transfer encrypted), with the server
certificate of infra/gen_tls.py (next to ``LAKEHOUSE_TLS_CA``); a plain-FTP login is refused.
Bound to 127.0.0.1 only, with passive data ports in a small range. For tests,
:func:`serve_in_thread` starts it on a free port with its own IO loop; its ``faults`` object can
cut the connection after N bytes of the next download of a path (control and data both dropped,
as when a link goes down), and logs every RETR with its REST offset.

Usage::

    python -m sample_sources.servers.ftp_server [--root DIR] [--port 2121] [--passive-ports 30000-30049]
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

HOST = "127.0.0.1"
DEFAULT_PORT = 2121
DEFAULT_PASSIVE_PORTS = range(30000, 30050)
USER = "monitor"
PERMISSIONS = "elrmfw"  # cd, list, read, mkdir, rename, store (no delete, no append)


@dataclass
class FtpFaults:
    """Failures the next downloads will meet; thread-safe, each consumed once it fires."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _drops: list[tuple[str, int]] = field(default_factory=list)
    retrievals: list[tuple[str, int]] = field(default_factory=list)
    """Every RETR as (virtual path, REST offset)."""

    def drop_after(self, path: str, nbytes: int, times: int = 1) -> None:
        """The next ``times`` downloads under ``path`` stop after ``nbytes``; the session is cut."""
        with self._lock:
            self._drops.extend([(path, nbytes)] * times)

    def clear(self) -> None:
        with self._lock:
            self._drops.clear()
            self.retrievals.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._drops)

    def take_drop(self, path: str) -> int | None:
        with self._lock:
            for i, (prefix, nbytes) in enumerate(self._drops):
                if path.startswith(prefix):
                    del self._drops[i]
                    return nbytes
        return None

    def record(self, path: str, rest: int) -> None:
        with self._lock:
            self.retrievals.append((path, rest))


class _DTPHandler(TLS_DTPHandler):  # type: ignore[misc]
    """Data channel that can cut the whole session after a set number of bytes."""

    def _limit(self) -> int | None:
        if self.file_obj is None:  # a listing, not a file download
            return None
        return getattr(self.cmd_channel, "drop_after", None)  # type: ignore[no-any-return]

    def use_sendfile(self) -> bool:
        return self._limit() is None and bool(super().use_sendfile())

    def send(self, data: bytes) -> int:
        limit = self._limit()
        if limit is None:
            return int(super().send(data))
        room = limit - self.tot_bytes_sent
        sent = int(super().send(data[:room])) if room > 0 else 0
        if self.tot_bytes_sent >= limit and not getattr(self, "_dropping", False):
            # Cut data and control connections together, from the IO loop (not inside this send).
            self._dropping = True
            self.ioloop.call_later(0, self.cmd_channel.close)
        return sent


class _FTPHandler(TLS_FTPHandler):  # type: ignore[misc]
    dtp_handler = _DTPHandler
    faults: FtpFaults
    drop_after: int | None = None
    banner = "lakehouse sample FTP drop (Circular 10/2021 transmissions)"

    def ftp_RETR(self, file: str) -> Any:
        virtual = self.fs.fs2ftp(file)
        self.drop_after = None
        self.faults.record(virtual, self._restart_position)
        self.drop_after = self.faults.take_drop(virtual)
        return super().ftp_RETR(file)


@dataclass
class RunningFTP:
    """An in-process FTP server; ``stop()`` closes every connection and the listening socket."""

    server: FTPServer
    thread: threading.Thread
    faults: FtpFaults
    _stop: threading.Event

    @property
    def port(self) -> int:
        return int(self.server.address[1])

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)


def make_server(
    root: Path,
    port: int,
    user: str,
    password: str,
    passive_ports: Sequence[int] | None,
    ioloop: IOLoop | None = None,
    tls_ca: Path | None = None,
) -> tuple[FTPServer, FtpFaults]:
    """An FTPS server for ``root`` with one read/rename account, bound to 127.0.0.1."""
    from sample_sources.env import SourceEnv

    env = SourceEnv() if tls_ca is None else SourceEnv(tls_ca=tls_ca)
    if not password:
        raise SystemExit(
            "LAKEHOUSE_FTP_PASSWORD is not set: run `make store` (it generates .state/secrets.env), then "
            "`set -a; . .state/secrets.env; set +a`."
        )
    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(root.resolve()), perm=PERMISSIONS)
    faults = FtpFaults()
    handler = type(
        "SourceFTPHandler",
        (_FTPHandler,),
        {
            "authorizer": authorizer,
            "faults": faults,
            "passive_ports": list(passive_ports) if passive_ports else None,
            "permit_foreign_addresses": False,
            "certfile": str(env.tls_cert),
            "keyfile": str(env.tls_key),
            "tls_control_required": True,  # no USER/PASS in clear text
            "tls_data_required": True,  # no transfer in clear text (PROT P)
        },
    )
    return FTPServer((HOST, port), handler, ioloop=ioloop), faults


def serve_in_thread(
    root: Path,
    port: int = 0,
    user: str = USER,
    password: str | None = None,
    passive_ports: Sequence[int] | None = None,
) -> RunningFTP:
    """Start the server in a daemon thread with its own IO loop (ephemeral passive ports by default)."""
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    ioloop = IOLoop()
    server, faults = make_server(
        root,
        port,
        user,
        password if password is not None else os.environ.get("LAKEHOUSE_FTP_PASSWORD", ""),
        passive_ports,
        ioloop,
    )
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        finally:
            server.close_all()

    thread = threading.Thread(target=run, name="ftp-source", daemon=True)
    thread.start()
    return RunningFTP(server, thread, faults, stop)


def _port_range(text: str) -> range:
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main(argv: Sequence[str] | None = None) -> int:
    from sample_sources.env import SourceEnv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=None, help="directory to serve (default: the source root)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--passive-ports",
        type=_port_range,
        default=DEFAULT_PASSIVE_PORTS,
        help="passive data ports, e.g. 30000-30049",
    )
    args = parser.parse_args(argv)
    settings = SourceEnv()
    root = args.root or settings.source_root
    logging.basicConfig(level=logging.WARNING)
    server, _ = make_server(root, args.port, settings.ftp_user, settings.ftp_password, args.passive_ports)
    print(f"FTP source on ftp://{HOST}:{server.address[1]} serving {root} as {settings.ftp_user}", flush=True)
    server.serve_forever(handle_exit=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
