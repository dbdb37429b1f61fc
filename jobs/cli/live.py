"""``lakehouse live``: the live monitoring page (open alerts, stations by province, 24 h VN_AQI)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("live", help="serve the live monitoring page (reads the lake on every request)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8790, help="port (default 8790)")
    p.add_argument(
        "--ministry",
        default=None,
        help="read the lake as this ministry's read-only identity (default $LAKEHOUSE_MINISTRY; "
        "none: the pipeline's identity)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os

    from jobs.access import settings_for
    from jobs.live import server

    code = args.ministry or os.environ.get("LAKEHOUSE_MINISTRY", "").strip() or None
    httpd = server(args.host, args.port, settings_for(code))
    print(f"live monitoring page: http://{args.host}:{httpd.server_address[1]}/ (Ctrl-C stops it)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0
