"""``lakehouse stream``: the live path (``jobs.stream``): the lander, the stream, and their books."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("stream", help="the live path: land, refine and alert environment readings within seconds")
    steps = p.add_subparsers(dest="step", required=True, metavar="STEP")
    lander = steps.add_parser("lander", help="drain MQTT into the spool and copy new FTP transmissions, every PERIOD s")
    stream = steps.add_parser("run", help="refine the live log into the live views, rebuild alerts, send notices")
    for step in (lander, stream):
        step.add_argument("--period", type=float, default=5.0, help="seconds between rounds (default 5)")
        step.add_argument("--rounds", type=int, default=None, help="stop after N rounds (default: run until stopped)")
        step.add_argument(
            "--day",
            action="append",
            default=None,
            metavar="YYYY-MM-DD",
            help="follow this local day (repeatable; default: yesterday and today, by the clock)",
        )
    stream.add_argument(
        "--quiet",
        type=float,
        default=2.0,
        help="start a round once the log has had no new object for this many seconds (waiting at most 3× as"
        " long) and no lander round is in progress (at most 30 s) (default 2): a burst landed in pieces is"
        " refined in one round",
    )
    books = steps.add_parser("books", help="a day's readings in the live view against the nightly batch's silver")
    books.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the local day")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import logging
    from datetime import date

    from jobs import stream
    from jobs.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    days = sorted(date.fromisoformat(d) for d in args.day) if getattr(args, "day", None) else None
    if args.step == "lander":
        stream.run_lander(settings, args.period, args.rounds, days)
    elif args.step == "run":
        stream.run_stream(settings, args.period, args.rounds, days, quiet=args.quiet)
    else:
        from jobs.spark import get_spark

        for name, figures in stream.books(get_spark(), date.fromisoformat(args.date), settings).items():
            print(name + ": " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return 0
