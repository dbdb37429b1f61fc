"""``lakehouse erase``: erase a data subject's personal data from the lake (Decree 13/2023).

A data-protection officer's command, run with the pipeline writer's identity while the sector's
DAG is paused. See :mod:`jobs.erasure` for what is deleted, redacted and audited.
"""

from __future__ import annotations

import argparse
import getpass
import os


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "erase",
        help="erase a data subject (by phone or another registered personal column) from every table; audited",
        description="Erase one data subject: restricted rows deleted, pseudonyms removed from silver, raw lines "
        "redacted in bronze, quarantine and landing, old versions VACUUMed, one audit row (no raw value).",
    )
    p.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="a registered personal source column and the subject's value, e.g. contact_phone=0912345678 "
        "(repeat to give several values of the same person)",
    )
    p.add_argument("--subject-phone", metavar="NUMBER", help="shortcut: the phone in every personal phone column")
    p.add_argument(
        "--retention",
        type=float,
        default=None,
        metavar="HOURS",
        help="history VACUUM keeps (default 168 h; 0 makes the old versions unreadable at once)",
    )
    p.add_argument("--reason", default="", help="why (e.g. the request's reference); stored in the audit")
    p.add_argument("--requested-by", default=None, metavar="NAME", help="who asked (default: your login)")
    p.add_argument("--json", action="store_true", help="print the audit record as JSON")
    p.set_defaults(run=run)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def run(args: argparse.Namespace) -> int:
    from jobs.erasure import DEFAULT_RETENTION_HOURS, Subject, audit_json, describe, erase, subjects_for_kind
    from jobs.lease import QUALITY, dataset_resource, hold
    from jobs.registry import REGISTRY, PersonalKind

    subjects = [Subject.parse(s) for s in args.subject]
    if args.subject_phone:
        subjects += subjects_for_kind(PersonalKind.PHONE, args.subject_phone)
    requested_by = args.requested_by or _login()
    # Erasure rewrites every table of each dataset with personal data and appends to the quality
    # audit: it holds their leases (jobs.lease), so a DAG task or a second erasure waits for it.
    personal = [dataset_resource(ds.name) for ds in REGISTRY if ds.personal is not None]
    with hold(*personal, QUALITY, holder=f"lakehouse erase requested by {requested_by}"):
        result = erase(
            subjects,
            retention_hours=DEFAULT_RETENTION_HOURS if args.retention is None else args.retention,
            reason=args.reason,
            requested_by=requested_by,
        )
    print(audit_json(result) if args.json else describe(result))
    return 0
