"""An SMTP server for the live benchmark, in a process of its own: when each notice was accepted.

Why a process of its own: in the benchmark's process the server shared one interpreter (one GIL) with
the harness that polls the alert table every second and the live views while the last round runs, so
the notifier's messages waited on the harness, not on the pipeline (a relay in production is a server
of its own). Each accepted message is a line ``<notice id>\\t<time.monotonic()>`` in ``--out``:
the machine's monotonic clock, the one the publishing side marks with (one clock per machine on Linux).
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path
from typing import IO, Any


class Inbox:
    """aiosmtpd handler: the notice id (Message-ID ``<alert id>.<event>@…``) and when it was accepted."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        notice = str(message["Message-ID"]).split("@")[0].strip("<")
        self.out.write(f"{notice}\t{time.monotonic()}\n")
        self.out.flush()
        return "250 Message accepted for delivery"


def accepted(path: Path) -> dict[str, float]:
    """Each notice's first acceptance, from the sink's file (complete lines only)."""
    seen: dict[str, float] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            notice, _, at = line.partition("\t")
            if at:
                seen.setdefault(notice, float(at))
    return seen


def main(argv: list[str] | None = None) -> int:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="one line per accepted message")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with args.out.open("a", encoding="utf-8") as out:
        controller = Controller(Inbox(out), hostname="127.0.0.1", port=args.port)
        controller.start()
        try:
            stop.wait()
        finally:
            controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
