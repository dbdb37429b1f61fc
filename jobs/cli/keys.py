"""``lakehouse keys``: the pseudonym keyring (ids only, never a secret) and key rotation.

``keys rotate --to ID`` re-pseudonymizes silver and the restricted tables under key ID (see
:mod:`jobs.keys`), run with the pipeline writer's identity; it holds the leases of every dataset
with pseudonyms, so a DAG task or an erasure waits for it.
"""

from __future__ import annotations

import argparse
import getpass
import os


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "keys",
        help="pseudonym keys: list the keyring's ids, rotate silver's pseudonyms to a new key; audited",
        description="The pseudonym keyring (LAKEHOUSE_PSEUDONYM_KEYS, LAKEHOUSE_PSEUDONYM_KEY_ID) and its rotation.",
    )
    keys = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    show = keys.add_parser("list", help="the key ids of the keyring and the current one (no secret is printed)")
    show.set_defaults(run=run_list)
    rot = keys.add_parser(
        "rotate",
        help="recompute every silver pseudonym (and the restricted tables') under key ID, one commit per table",
        description="Recompute silver's pseudonyms from the restricted tables' raw values under key ID and set "
        "their key id; one Delta commit per table, none when nothing changes; gold checked to hold no pseudonym; "
        "one audit row in audit/key_rotation. Set LAKEHOUSE_PSEUDONYM_KEY_ID=ID first.",
    )
    rot.add_argument("--to", required=True, metavar="ID", help="the key id to rotate to (the current key id)")
    rot.add_argument("--reason", default="", help="why (e.g. the schedule or an incident); stored in the audit")
    rot.add_argument("--requested-by", default=None, metavar="NAME", help="who asked (default: your login)")
    rot.add_argument("--json", action="store_true", help="print the audit record as JSON")
    rot.set_defaults(run=run_rotate)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def run_list(args: argparse.Namespace) -> int:
    from jobs.errors import UserFacingError
    from jobs.privacy import keyring
    from jobs.settings import MissingSettingError

    try:
        ring = keyring()
    except MissingSettingError as err:
        raise UserFacingError(str(err)) from None
    for key_id in sorted(ring.masters):
        print(f"{key_id}{'  (current)' if key_id == ring.current_id else ''}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    from jobs.keys import audit_json, describe, pseudonymized_datasets, rotate
    from jobs.lease import dataset_resource, hold

    requested_by = args.requested_by or _login()
    resources = [dataset_resource(ds.name) for ds in pseudonymized_datasets()]
    with hold(*resources, holder=f"lakehouse keys rotate requested by {requested_by}"):
        result = rotate(args.to, requested_by=requested_by, reason=args.reason)
    print(audit_json(result) if args.json else describe(result))
    return 0
