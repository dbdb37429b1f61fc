"""Who may read what, derived from the registry and enforced by the S3 store itself.

Each ministry reads the lake as its own store identity (``ministry-<code>``) whose policy, built
here by :func:`policy_for`, allows exactly the table prefixes :func:`can_read` allows: its own
tables, everyone's PUBLIC tables, INTERNAL tables that list it in ``grants``, its own quarantine
tables (unless the dataset holds personal or sensitive fields) and the quality tables. A table
with personal or sensitive fields (even pseudonymized, even in a PUBLIC dataset) stays with its
owner: the store grants whole tables, never columns. Landing,
bronze, restricted (personal data) and audit prefixes are never readable by a ministry. Because the
store refuses everything else, a query engine, a notebook or plain boto3 all see the same rules.

Import-light (no Spark, no store client): the CLI, the bootstrap script and tests import it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Literal

from jobs.errors import UserFacingError
from jobs.registry import REGISTRY, Classification, Dataset, Layer, Ministry
from jobs.settings import Settings, get_settings
from jobs.tables import quarantine_key

QUALITY_PREFIX = "quality"
"""Quality tables (scores, checks, batch accounting): every ministry may see how good data is."""

NEVER_READ: dict[str, str] = {
    "landing": "the payloads exactly as the sources sent them",
    "bronze": "parsed source rows before any quality rule ran",
    "restricted": "personal data, kept apart under Decree 13/2023/NĐ-CP",
    "audit": "the store's access audit trail",
    "staging": "batches written but not yet past their quality gate (write → audit → publish)",
}
"""Key prefixes no ministry identity may read, and why (only the pipeline's own identity does)."""

_PRIVATE = (Classification.PERSONAL, Classification.SENSITIVE)
_ARN = "arn:aws:s3:::"


@dataclass(frozen=True)
class Table:
    """One readable unit of the lake: its SQL name, its key prefix and what it belongs to."""

    name: str
    key: str
    kind: Literal["table", "quarantine"]
    dataset: Dataset


def ministry_for_code(code: str | None) -> Ministry | None:
    """The ministry behind a ``--ministry`` code; None means the configured (pipeline) identity."""
    if code is None:
        return None
    wanted = code.strip().lower()
    for ministry in Ministry:
        if ministry.code == wanted:
            return ministry
    known = ", ".join(f"{m.code} = {m.value}" for m in Ministry)
    raise UserFacingError(f"unknown ministry code {code!r}. Known codes: {known}")


def credential_env(ministry: Ministry) -> tuple[str, str]:
    """Names of the environment variables holding a ministry's access key and secret key."""
    prefix = f"LAKEHOUSE_MINISTRY_{ministry.code.upper()}"
    return f"{prefix}_ACCESS_KEY", f"{prefix}_SECRET_KEY"


def settings_for(ministry_code: str | None) -> Settings:
    """Settings that reach the store as the ministry's own identity, so the store enforces its grants."""
    ministry = ministry_for_code(ministry_code)
    if ministry is None:
        return get_settings()
    access_name, secret_name = credential_env(ministry)
    access, secret = os.environ.get(access_name, "").strip(), os.environ.get(secret_name, "").strip()
    if not access or not secret:
        raise UserFacingError(
            f"{access_name} / {secret_name} are not set, so {ministry.value} ({ministry.code}) has no store "
            "identity here. Run `make store` (it generates every ministry's keys into .state/secrets.env and "
            "provisions their read-only identities), then `set -a; . .state/secrets.env; set +a`; on a shared "
            "deployment, ask the lakehouse operator for your ministry's keys."
        )
    return dataclasses.replace(get_settings(), s3_access_key=access, s3_secret_key=secret)


def has_private_fields(dataset: Dataset) -> bool:
    """True when the dataset, or any of its columns, is classified personal or sensitive."""
    return dataset.classification in _PRIVATE or any(f.classification in _PRIVATE for f in dataset.fields)


def can_read(dataset: Dataset, ministry: Ministry) -> bool:
    """Whether ``ministry`` may read the dataset's table (its quarantine: :func:`can_read_quarantine`)."""
    if dataset.layer.value in NEVER_READ:
        return False
    if dataset.layer == Layer.QUALITY:
        return True
    if dataset.layer == Layer.QUARANTINE:
        return can_read_quarantine(dataset, ministry)
    if dataset.owner == ministry:
        return True
    if has_private_fields(dataset):
        return False
    if dataset.classification == Classification.PUBLIC:
        return True
    return dataset.classification == Classification.INTERNAL and ministry in dataset.grants


def has_quarantine(dataset: Dataset) -> bool:
    """Silver datasets keep rejected rows (with the raw source line) in a quarantine table."""
    return dataset.layer == Layer.SILVER


def can_read_quarantine(dataset: Dataset, ministry: Ministry) -> bool:
    """Only the owner reads rejected rows, and not when raw lines may carry personal data."""
    return has_quarantine(dataset) and dataset.owner == ministry and not has_private_fields(dataset)


def catalog() -> list[Table]:
    """Every registered table and quarantine table, with its SQL name and key prefix."""
    tables = []
    for ds in REGISTRY:
        tables.append(Table(ds.qualified_name, ds.table_path, "table", ds))
        if has_quarantine(ds):
            tables.append(Table(f"quarantine.{ds.sector}_{ds.name}", quarantine_key(ds), "quarantine", ds))
    return tables


def _allowed(table: Table, ministry: Ministry) -> bool:
    if table.kind == "quarantine":
        return can_read_quarantine(table.dataset, ministry)
    return can_read(table.dataset, ministry)


def readable_prefixes(ministry: Ministry) -> list[str]:
    """Key prefixes (no trailing slash) the ministry's store identity may read in the lake bucket."""
    return sorted({t.key for t in catalog() if _allowed(t, ministry)} | {QUALITY_PREFIX})


def readers_of(table: Table) -> list[Ministry]:
    return [m for m in Ministry if _allowed(table, m)]


def policy_for(ministry: Ministry, bucket: str, opendata_bucket: str) -> dict[str, Any]:
    """The ministry identity's IAM policy: read exactly its readable prefixes, and the open data.

    Listing is limited by ``s3:prefix`` to inside those prefixes (delta-rs and DuckDB list
    ``<table>/_delta_log/``), so a ministry cannot even see which other tables or files exist.
    """
    prefixes = readable_prefixes(ministry)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadGrantedTables",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{_ARN}{bucket}/{p}/*" for p in prefixes],
            },
            {
                "Sid": "ListInsideGrantedTables",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"{_ARN}{bucket}"],
                "Condition": {"StringLike": {"s3:prefix": [f"{p}/*" for p in prefixes]}},
            },
            {
                "Sid": "LocateBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [f"{_ARN}{bucket}", f"{_ARN}{opendata_bucket}"],
            },
            {
                "Sid": "ReadOpenData",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject"],
                "Resource": [f"{_ARN}{opendata_bucket}", f"{_ARN}{opendata_bucket}/*"],
            },
        ],
    }


def _resolve(name: str) -> tuple[str, Table | None]:
    """(layer or top prefix, table) for a SQL name (``silver.environment_x``), key or dataset name."""
    text = name.strip().strip("`\"'").lower()
    if text.startswith(("s3://", "s3a://")):
        text = text.split("://", 1)[1].partition("/")[2]
    tables = catalog()
    if "/" in text:
        key = text.strip("/")
        prefix = key.split("/", 1)[0]
        match = [t for t in tables if key == t.key or key.startswith(t.key + "/")]
        if not match and prefix in NEVER_READ:
            parts = key.split("/")
            match = [t for t in tables if len(parts) >= 3 and t.kind == "table" and t.key.split("/")[1:] == parts[1:3]]
        return prefix, (match[0] if match else None)
    if "." in text:
        prefix, _, rest = text.partition(".")
        exact = [t for t in tables if t.name == text]
        if exact:
            return prefix, exact[0]
        same = [t for t in tables if t.kind == "table" and f"{t.dataset.sector}_{t.dataset.name}" == rest]
        return prefix, (same[0] if same else None)
    named = [t for t in tables if t.kind == "table" and t.dataset.name == text]
    return (named[0].key.split("/", 1)[0], named[0]) if named else (text, None)


def _codes(ministries: list[Ministry]) -> str:
    return ", ".join(m.code for m in ministries) or "none"


def explain_denied(dataset_or_table_name: str, ministry: Ministry | None) -> str:
    """Why the store refused a read: who owns the table, which grant is missing, and what to do."""
    name = dataset_or_table_name.strip()
    prefix, table = _resolve(name)
    who = f"{ministry.value} ({ministry.code})" if ministry else "The configured S3 identity (LAKEHOUSE_S3_ACCESS_KEY)"
    stale = (
        f"{who} may read {name} by the registry, yet the store refused: the identity's policy is out of date "
        "or its keys are wrong. Run `make store` (it re-provisions every ministry's policy from the registry) "
        "and check the LAKEHOUSE_MINISTRY_<CODE>_ACCESS_KEY / _SECRET_KEY variables."
    )
    if prefix in NEVER_READ:
        instead = table.name if table and table.dataset.layer.value not in NEVER_READ else "the silver or gold tables"
        return f"{who} may not read {name}: {prefix}/ holds {NEVER_READ[prefix]}; no ministry reads it. Read {instead}."
    if prefix == QUALITY_PREFIX and table is None:
        return stale if ministry else f"{who} may not read {name}; every ministry may: use --ministry <code>."
    if table is None:
        known = ", ".join(sorted(t.name for t in catalog()))
        return f"unknown table {name!r}. Known tables: {known}, quality.<table>"
    ds, owner = table.dataset, table.dataset.owner
    owned = f"{owner.value} ({owner.code})"
    readers = readers_of(table)
    if ministry is None:
        return (
            f"{who} may not read {table.name} (owned by {owned}, {ds.classification.value.upper()}). Use "
            f"--ministry <code> with the keys of a ministry that may read it: {_codes(readers)}."
        )
    if ministry in readers:
        return stale
    if table.kind == "quarantine":
        if owner != ministry:
            return (
                f"{who} may not read {table.name}: rejected rows (with their raw source lines) are readable only "
                f"by the owner, {owned}. Ask the owner, or read {ds.qualified_name} and the quality.* tables."
            )
        return (
            f"{who} may not read {table.name}: {ds.qualified_name} holds personal or sensitive fields, so its "
            "raw rejected lines are not readable through the lake; the data steward reviews them."
        )
    if has_private_fields(ds):
        private = [f.name for f in ds.fields if f.classification in _PRIVATE]
        what = f"the personal or sensitive fields {private}" if private else f"{ds.classification.value.upper()} data"
        return (
            f"{who} may not read {table.name}: it holds {what} of {owned}, and personal or sensitive data is "
            "never granted to other ministries (Decree 13/2023/NĐ-CP). Ask the owner for an aggregated or "
            "de-identified table."
        )
    granted = f" (granted to: {_codes(list(ds.grants))})" if ds.grants else ""
    return (
        f"{who} may not read {table.name}: it is {ds.classification.value.upper()} to {owner.value} and not "
        f"granted to {ministry.code}{granted}. Ask the owner to add Ministry.{ministry.name} to its grants in "
        f"jobs/{ds.sector}/datasets.py"
    )
