"""``lakehouse notify``: send the alert notices no channel has accepted yet (e-mail, webhook)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "notify",
        help="send gold.environment_alert notices (opened / closed) by SMTP and webhook, each once",
    )
    p.add_argument(
        "--date",
        action="append",
        default=None,
        metavar="YYYY-MM-DD",
        help="only the alerts opened on this local day (repeatable; default: every alert)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from jobs.notify import deliver, read_alerts

    report = deliver(read_alerts(dates=args.date))
    print(f"{report['notices']} notices")
    for channel in ("email", "webhook"):
        if channel in report:
            print(f"{channel}: {report[channel]['sent']} sent, {report[channel]['already_sent']} sent before")
    for skipped in report["skipped_channels"]:
        print(f"skipped: {skipped}")
    return 0
