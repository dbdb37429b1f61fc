"""The catalog of queryable tables: what ministries can name in SQL, derived from the registry.

Every registered dataset is a table under its ``qualified_name`` (``gold.environment_aqi_daily``);
each silver dataset also has its quarantine table (``quarantine.<sector>_<name>``) and the quality
area has a few shared tables (``quality.scores`` …, listed in :data:`QUALITY_TABLES`). Nothing here
is a hand list of datasets, so a new registry entry is queryable and described at once.

Tables are opened with delta-rs under the caller's own credentials: the store decides what a
ministry may read, and a refusal becomes :class:`~jobs.errors.AccessDeniedError` naming the grant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jobs.access import explain_denied
from jobs.errors import AccessDeniedError, UserFacingError
from jobs.registry import REGISTRY, Classification, Dataset, Layer, Ministry
from jobs.settings import Settings
from jobs.tables import (
    ACCOUNTING_DDL,
    CHECKS_DDL,
    ENTITY_SCORES_DDL,
    LINEAGE_COLUMNS,
    QUARANTINE_DDL,
    RELEASES_DDL,
    SCORES_DDL,
    ddl_fields,
)

if TYPE_CHECKING:
    from deltalake import DeltaTable

LIST_HINT = "List the tables with `lakehouse tables`; `lakehouse describe TABLE` shows one."

# Meanings of the columns that are not registry fields (lineage, quarantine and quality tables).
COLUMN_MEANINGS: dict[str, tuple[str, str]] = {
    "_batch_id": ("Mã lô nạp (nguồn + khoảng dữ liệu)", "Ingestion batch id (source + data interval)"),
    "_source_file": ("Tệp nguồn của dòng", "Source file the row came from"),
    "_source_line": ("Số dòng trong tệp nguồn", "Line number in the source file"),
    "_ingested_at": ("Thời điểm nạp (UTC)", "When the batch was ingested (UTC)"),
    "dataset": ("Tên bộ dữ liệu trong danh mục", "Registry dataset name"),
    "raw_line": ("Dòng gốc như nguồn gửi", "The line exactly as the source sent it"),
    "reason_code": ("Mã lý do bị cách ly", "Why the row was quarantined (rule reason)"),
    "rule_id": ("Mã quy tắc (kèm phiên bản)", "Row rule id with its version"),
    "criterion": ("Tiêu chí (đúng/đủ/sạch/sống)", "Quality criterion (đúng/đủ/sạch/sống)"),
    "detail": ("Chi tiết lỗi phân tích", "Parse error detail"),
    "status": ("Trạng thái của dòng cách ly", "Quarantine status of the row"),
    "data_interval_start": ("Đầu khoảng dữ liệu (UTC)", "Data interval start (UTC)"),
    "data_interval_end": ("Cuối khoảng dữ liệu (UTC)", "Data interval end (UTC)"),
    "batch_id": ("Mã lô", "Batch id"),
    "checks_passed": ("Số kiểm tra đạt", "Checks passed"),
    "checks_failed": ("Số kiểm tra không đạt", "Checks failed"),
    "rows_evaluated": ("Số dòng được đánh giá", "Rows evaluated"),
    "rows_failing": ("Số dòng không đạt", "Rows failing"),
    "score": ("Điểm 0–100", "Score 0–100"),
    "ruleset_version": ("Phiên bản bộ quy tắc", "Rule-set version"),
    "run_id": ("Mã lần chạy (Airflow)", "Run id (Airflow)"),
    "check_id": ("Mã kiểm tra", "Check id"),
    "frame": ("Tập dòng được kiểm tra", "Rows the check looks at (silver/audit/…)"),
    "severity": ("Mức độ (critical/warning)", "Severity (critical/warning)"),
    "success": ("Đạt hay không", "Whether the check passed"),
    "element_count": ("Số phần tử kiểm tra", "Elements checked"),
    "unexpected_count": ("Số phần tử sai", "Unexpected elements"),
    "observed": ("Giá trị quan sát", "Observed value"),
    "sample": ("Mẫu giá trị sai", "Sample offending values"),
    "description": ("Mô tả", "Description"),
    "landed_rows": ("Số dòng nạp vào", "Rows landed"),
    "silver_rows": ("Số dòng vào silver", "Rows written to silver"),
    "quarantined_rows": ("Số dòng bị cách ly", "Rows quarantined"),
    "exact_duplicates": ("Số dòng trùng hoàn toàn đã loại", "Exact duplicates removed"),
    "superseded_duplicates": ("Số bản cũ của cùng khóa đã loại", "Superseded versions of a key removed"),
    "quarantined_by_reason": ("Số dòng cách ly theo lý do (JSON)", "Quarantined rows by reason (JSON)"),
    "entity_type": ("Loại đối tượng (trạm/cơ sở/tỉnh)", "Entity type (station/facility/province)"),
    "entity_id": ("Mã đối tượng", "Entity id"),
    "last_seen": ("Lần cuối có số liệu (UTC)", "Last reading received (UTC)"),
    "silent": ("Im lặng quá SLA", "Silent beyond the freshness SLA"),
    "release_id": ("Mã lần giải phóng", "Release id"),
    "steward": ("Người quản lý dữ liệu", "Data steward who released"),
    "note": ("Lý do giải phóng", "Why the rows may be released"),
    "selection": ("Điều kiện chọn dòng", "Row selection"),
    "rows_selected": ("Số dòng được chọn", "Rows selected"),
    "rows_released": ("Số dòng được đưa lại silver", "Rows sent back to silver"),
    "rows_still_failing": ("Số dòng vẫn không đạt", "Rows still failing"),
    "corrections": ("Giá trị sửa (cột → giá trị)", "Corrections (column → value)"),
    "accepted_rule_ids": ("Quy tắc được chấp nhận bỏ qua", "Rules accepted as exceptions"),
    "row_ids": ("Mã các dòng", "Row ids"),
    "still_failing_row_ids": ("Mã các dòng vẫn không đạt", "Ids of rows still failing"),
    "dates": ("Các ngày bị ảnh hưởng", "Days affected"),
    "released_at": ("Thời điểm giải phóng (UTC)", "When released (UTC)"),
}


@dataclass(frozen=True)
class QualityTable:
    """A shared table of the ``quality/`` area; ``ddl`` names its columns (None: read the Delta log)."""

    name: str
    title_vi: str
    title_en: str
    ddl: str | None = None


def _quality_tables() -> tuple[QualityTable, ...]:
    return (
        QualityTable(
            "scores",
            "Điểm chất lượng theo tiêu chí",
            "Quality score per dataset × criterion × interval",
            SCORES_DDL,
        ),
        QualityTable("checks", "Kết quả từng kiểm tra", "Result of every gate check", CHECKS_DDL),
        QualityTable(
            "batch_accounting",
            "Sổ sách từng lô",
            "Books of each batch (landed = silver + quarantined + duplicates)",
            ACCOUNTING_DDL,
        ),
        QualityTable(
            "entity_scores",
            "Điểm chất lượng theo trạm/cơ sở",
            "Quality score per entity (station, facility)",
            ENTITY_SCORES_DDL,
        ),
        QualityTable(
            "releases",
            "Các lần công bố bộ quy tắc/dữ liệu",
            "Releases (rule sets and published data)",
            RELEASES_DDL,
        ),
    )


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    vi: str = ""
    en: str = ""
    unit: str | None = None
    classification: Classification | None = None
    nullable: bool = True


@dataclass(frozen=True)
class CatalogTable:
    """One queryable table: SQL name, where it lives, what it holds, and whose it is."""

    name: str
    key: str
    kind: str  # "dataset" | "quarantine" | "quality"
    layer: Layer
    title_vi: str
    title_en: str
    columns: tuple[Column, ...]
    dataset: Dataset | None = None
    owner: Ministry | None = None
    classification: Classification = Classification.INTERNAL
    freshness_sla: timedelta | None = None

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def columns_known(self) -> bool:
        return bool(self.columns)


def ddl_columns(ddl: str) -> tuple[Column, ...]:
    """``"a STRING, b MAP<STRING, STRING>"`` → columns with the shared meanings."""
    out = []
    for name, type_ in ddl_fields(ddl):
        vi, en = COLUMN_MEANINGS.get(name, ("", ""))
        out.append(Column(name, type_, vi, en))
    return tuple(out)


def _dataset_table(ds: Dataset) -> CatalogTable:
    columns = [Column(f.name, f.type, f.vi, f.en, f.unit, f.classification, f.nullable) for f in ds.fields]
    if ds.layer == Layer.SILVER:
        types = {"_source_line": "LONG", "_ingested_at": "TIMESTAMP"}
        columns += [Column(c, types.get(c, "STRING"), *COLUMN_MEANINGS[c]) for c in LINEAGE_COLUMNS]
    return CatalogTable(
        name=ds.qualified_name,
        key=ds.table_path,
        kind="dataset",
        layer=ds.layer,
        title_vi=ds.title_vi,
        title_en=ds.title_en,
        columns=tuple(columns),
        dataset=ds,
        owner=ds.owner,
        classification=ds.classification,
        freshness_sla=ds.freshness_sla,
    )


def _quarantine_table(ds: Dataset) -> CatalogTable:
    # Rejected raw lines are not curated data: at least INTERNAL even when the dataset is public.
    classification = Classification.INTERNAL if ds.classification == Classification.PUBLIC else ds.classification
    return CatalogTable(
        name=f"quarantine.{ds.sector}_{ds.name}",
        key=f"quarantine/{ds.sector}/{ds.name}",
        kind="quarantine",
        layer=Layer.QUARANTINE,
        title_vi=f"Dòng bị cách ly của: {ds.title_vi}",
        title_en=f"Quarantined rows of: {ds.title_en}",
        columns=ddl_columns(QUARANTINE_DDL),
        dataset=ds,
        owner=ds.owner,
        classification=classification,
    )


def _quality_table(q: QualityTable) -> CatalogTable:
    return CatalogTable(
        name=f"quality.{q.name}",
        key=f"quality/{q.name}",
        kind="quality",
        layer=Layer.QUALITY,
        title_vi=q.title_vi,
        title_en=q.title_en,
        columns=ddl_columns(q.ddl) if q.ddl else (),
        classification=Classification.INTERNAL,
    )


@lru_cache(maxsize=1)
def catalog_tables() -> tuple[CatalogTable, ...]:
    """Every queryable table: registry datasets, then quarantine tables, then quality tables."""
    datasets = list(REGISTRY)
    tables = [_dataset_table(d) for d in datasets]
    tables += [_quarantine_table(d) for d in datasets if d.layer == Layer.SILVER]
    tables += [_quality_table(q) for q in _quality_tables()]
    return tuple(tables)


def _by_name() -> dict[str, CatalogTable]:
    return {t.name: t for t in catalog_tables()}


def close_matches(name: str, n: int = 3) -> list[str]:
    """Catalog names close to ``name``: same table under another layer first, then by spelling."""
    wanted = name.strip().strip('"`').lower()
    names = list(_by_name())
    tail = wanted.split(".")[-1]
    same_tail = [t for t in names if t.split(".", 1)[1] == tail or t.split(".", 1)[1].endswith("_" + tail)]
    spelled = difflib.get_close_matches(wanted, names, n=n, cutoff=0.6)
    tails = {t.split(".", 1)[1]: t for t in names}
    spelled += [tails[m] for m in difflib.get_close_matches(tail, list(tails), n=n, cutoff=0.6)]
    return list(dict.fromkeys(same_tail + spelled))[:n]


def unknown_table_error(name: str) -> UserFacingError:
    close = close_matches(name)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return UserFacingError(f"unknown table {name!r}.{hint} {LIST_HINT}")


def resolve(name: str) -> CatalogTable:
    """A table by SQL name (``gold.environment_aqi_daily``, any case) or bucket key (``gold/environment/…``)."""
    wanted = ".".join(part.strip().strip('"`') for part in name.strip().split(".")).lower()
    by_name = _by_name()
    if wanted in by_name:
        return by_name[wanted]
    for table in by_name.values():
        if table.key == wanted.strip("/"):
            return table
    raise unknown_table_error(name)


# --------------------------------------------------------------------------------------------- store


def parse_as_of(value: str | int | datetime | None) -> int | datetime | None:
    """``--as-of``: an integer is a Delta version, anything else an ISO timestamp (naive = UTC)."""
    if value is None or isinstance(value, int | datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UserFacingError(
            f"--as-of {value!r} is neither a Delta version (e.g. 3) nor an ISO timestamp "
            "(e.g. 2026-11-26T12:00:00+07:00; without an offset it is read as UTC)."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch")
_DENIED_MARKERS = ("403 Forbidden", "AccessDenied", "Access Denied", "lacked the necessary privileges")


def is_denied(err: BaseException) -> bool:
    text = str(err)
    return any(m in text for m in _DENIED_MARKERS)


def denied_error(table_name: str, err: BaseException, ministry: Ministry | None) -> AccessDeniedError:
    """The store's 403 as a message that names the missing grant (or the rejected credentials)."""
    text = str(err)
    if any(code in text for code in _CREDENTIAL_CODES):
        return AccessDeniedError(
            f"the store does not accept the credentials used for {table_name}: the access key is unknown or "
            "the secret is wrong. Check LAKEHOUSE_S3_ACCESS_KEY / LAKEHOUSE_S3_SECRET_KEY (or your ministry's "
            "keys in .state/secrets.env)."
        )

    return AccessDeniedError(explain_denied(table_name, ministry))


def version_at(table: CatalogTable, dt: DeltaTable, when: datetime) -> int:
    """Newest version committed at or before ``when`` (an error, not version 0, when it did not exist).

    delta-rs, like Spark, dates a commit by its log file's modification time; before the first
    commit it would quietly answer version 0, which Spark refuses, so refuse too.
    """
    dt.load_as_version(when)
    version = dt.version()
    if version == 0:
        first = min(dt.history(), key=lambda h: int(h["version"]))
        created = datetime.fromtimestamp(int(first["timestamp"]) / 1000, tz=UTC)
        if when < created:
            raise UserFacingError(
                f"{table.name} did not exist at {when.isoformat()}: its first version was committed at "
                f"{created.isoformat()}. Use a later --as-of."
            )
    return version


def open_delta(
    table: CatalogTable,
    settings: Settings,
    *,
    as_of: int | datetime | None = None,
    ministry: Ministry | None = None,
) -> DeltaTable | None:
    """The table's Delta snapshot (``as_of`` version or timestamp) under the caller's credentials.

    Returns None when the table has not been built yet; raises AccessDeniedError when the store
    refuses the caller, UserFacingError for a version the table does not have.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    if isinstance(as_of, int) and as_of < 0:
        raise UserFacingError(f"--as-of {as_of}: Delta versions start at 0.")
    try:
        dt = DeltaTable(settings.s3_uri(table.key), storage_options=settings.delta_rs_storage_options())
        if as_of is None:
            return dt
        latest = dt.version()
        if isinstance(as_of, datetime):
            as_of = version_at(table, dt, as_of)
        if as_of > latest:
            raise UserFacingError(
                f"{table.name} has no version {as_of}: its versions are 0..{latest}. "
                f"`lakehouse describe {table.name}` lists its history."
            )
        dt.load_as_version(as_of)
        return dt
    except TableNotFoundError:
        return None
    except UserFacingError:
        raise
    except Exception as err:  # delta-rs raises OSError / DeltaError with the store's answer in the text
        if is_denied(err):
            raise denied_error(table.name, err, ministry) from None
        raise


def require_delta(
    table: CatalogTable, settings: Settings, *, as_of: int | datetime | None = None, ministry: Ministry | None = None
) -> DeltaTable:
    """Like :func:`open_delta`, but a table that was never built is the user's error, with the fix."""
    dt = open_delta(table, settings, as_of=as_of, ministry=ministry)
    if dt is None:
        raise UserFacingError(
            f"{table.name} has no data yet (its Delta table {settings.s3_uri(table.key)} does not exist): the "
            "pipeline has not written it. Run the pipeline (`make run`) or ask its owner."
        )
    return dt


def row_count(dt: DeltaTable) -> int:
    """Rows of the snapshot from the Delta log's file statistics (no data file read)."""
    import pyarrow as pa

    actions = pa.table(dt.get_add_actions(flatten=True))
    counts = actions.column("num_records").to_pylist() if "num_records" in actions.column_names else []
    if counts and all(c is not None for c in counts):
        return int(sum(counts))
    return int(dt.to_pyarrow_dataset().count_rows())


# --------------------------------------------------------------------------------- tables / describe


def _state(
    table: CatalogTable, settings: Settings, ministry: Ministry | None
) -> tuple[str, DeltaTable | None, str | None]:
    """("ok" | "not built" | "no access", snapshot, reason)."""
    try:
        dt = open_delta(table, settings, ministry=ministry)
    except AccessDeniedError as err:
        return "no access", None, str(err)
    return ("ok" if dt is not None else "not built"), dt, None


def current_scores(settings: Settings, ministry: Ministry | None = None) -> dict[str, dict[str, dict[str, Any]]] | None:
    """Latest score per dataset × criterion from ``quality/scores`` (None: the caller cannot read it)."""
    status, dt, _ = _state(resolve("quality.scores"), settings, ministry)
    if dt is None:
        return None if status == "no access" else {}
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    columns = ["dataset", "criterion", "data_interval_start", "data_interval_end", "score", "batch_id"]
    for row in dt.to_pyarrow_dataset().to_table(columns=columns).to_pylist():
        mine = latest.setdefault(row["dataset"], {})
        seen = mine.get(row["criterion"])
        order = (row["data_interval_start"], row["data_interval_end"])
        if seen is None or order > (seen["data_interval_start"], seen["data_interval_end"]):
            mine[row["criterion"]] = row
    return latest


def silver_inputs(ds: Dataset) -> list[str]:
    """The silver datasets a gold dataset is computed from (through other gold tables)."""
    out: list[str] = []
    for name in ds.inputs:
        upstream = REGISTRY[name]
        out += [upstream.name] if upstream.layer == Layer.SILVER else silver_inputs(upstream)
    return list(dict.fromkeys(out))


def scores_for(ds: Dataset, scores: dict[str, dict[str, dict[str, Any]]]) -> tuple[dict[str, float], list[str]]:
    """(criterion → score, datasets they come from).

    A gold table has no gate of its own: it is only as good as its worst input, so it shows the
    minimum of its silver inputs' current scores per criterion (and says which inputs).
    """
    sources = [ds.name] if ds.layer == Layer.SILVER else silver_inputs(ds)
    result: dict[str, float] = {}
    for name in sources:
        for criterion, row in scores.get(name, {}).items():
            if row["score"] is not None:
                result[criterion] = min(result.get(criterion, row["score"]), row["score"])
    return result, sources


def format_sla(sla: timedelta | None) -> str | None:
    if sla is None:
        return None
    hours = sla.total_seconds() / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} d"


def _owner(owner: Ministry | None) -> dict[str, str] | None:
    if owner is None:
        return None
    return {"code": getattr(owner, "code", owner.name.lower()), "name": owner.value}


def list_tables(settings: Settings, ministry: Ministry | None = None) -> list[dict[str, Any]]:
    """One entry per catalog table: what it is, whose, how fresh, its size and current scores."""
    scores = current_scores(settings, ministry)
    out = []
    for table in catalog_tables():
        status, dt, reason = _state(table, settings, ministry)
        entry: dict[str, Any] = {
            "name": table.name,
            "kind": table.kind,
            "layer": table.layer.value,
            "title_en": table.title_en,
            "title_vi": table.title_vi,
            "owner": _owner(table.owner),
            "classification": table.classification.value,
            "freshness_sla": format_sla(table.freshness_sla),
            "status": status,
            "version": dt.version() if dt is not None else None,
            "rows": row_count(dt) if dt is not None else None,
            "scores": None,
            "scores_from": [],
        }
        if reason:
            entry["reason"] = reason
        if table.kind == "dataset" and table.dataset is not None:
            if scores is None:
                entry["scores"] = "no access"
            else:
                entry["scores"], entry["scores_from"] = scores_for(table.dataset, scores)
        out.append(entry)
    return out


def lineage(ds: Dataset) -> dict[str, Any]:
    """Where a dataset's rows come from: source → landing → bronze → silver, and gold's inputs."""
    steps: list[dict[str, str]] = []
    if ds.source is not None:
        steps += [
            {
                "stage": "source",
                "channel": ds.source.channel.value,
                "where": ds.source.path,
                "format": ds.source.format,
            },
            {
                "stage": "landing",
                "where": f"landing/{ds.sector}/{ds.name}/ingest_date=<YYYY-MM-DD>/<batch_id>.{ds.source.extension}",
            },
            {"stage": "bronze", "where": f"bronze/{ds.sector}/{ds.name}"},
        ]
    steps.append({"stage": ds.layer.value, "where": ds.table_path, "table": ds.qualified_name})
    if ds.layer == Layer.SILVER:
        steps.append(
            {
                "stage": "quarantine",
                "where": f"quarantine/{ds.sector}/{ds.name}",
                "table": f"quarantine.{ds.sector}_{ds.name}",
            }
        )
    inputs = [REGISTRY[n] for n in ds.inputs]
    return {
        "steps": steps,
        "inputs": [{"dataset": i.name, "table": i.qualified_name, "layer": i.layer.value} for i in inputs],
        "edges": _edges(ds),
    }


def _edges(ds: Dataset) -> list[list[str]]:
    """Upstream graph as (from table, to table) pairs, down to the sources."""
    edges: list[list[str]] = []
    if ds.source is not None:
        edges.append([f"source:{ds.source.path}", ds.qualified_name])
    for name in ds.inputs:
        upstream = REGISTRY[name]
        edges.append([upstream.qualified_name, ds.qualified_name])
        edges += _edges(upstream)
    unique: dict[tuple[str, str], list[str]] = {(a, b): [a, b] for a, b in edges}
    return list(unique.values())


def _history(dt: DeltaTable, limit: int = 5) -> list[dict[str, Any]]:
    out = []
    for h in dt.history(limit):
        metrics = h.get("operationMetrics") or {}
        rows = metrics.get("numOutputRows") or metrics.get("numTargetRowsInserted")
        out.append(
            {
                "version": h.get("version"),
                "timestamp": datetime.fromtimestamp(int(h["timestamp"]) / 1000, tz=UTC).isoformat(),
                "operation": h.get("operation"),
                "predicate": (h.get("operationParameters") or {}).get("predicate"),
                "rows_written": int(rows) if rows is not None else None,
            }
        )
    return out


def _arrow_columns(dt: DeltaTable) -> list[tuple[str, str]]:
    import pyarrow as pa

    schema = pa.schema(dt.schema().to_arrow())
    return [(f.name, str(f.type)) for f in schema]


def entry(name: str) -> dict[str, Any]:
    """What the data dictionary says about a table (registry only: no store access)."""
    table = resolve(name)
    ds = table.dataset
    own = ds is not None and table.kind == "dataset"
    out: dict[str, Any] = {
        "name": table.name,
        "kind": table.kind,
        "layer": table.layer.value,
        "key": table.key,
        "title_vi": table.title_vi,
        "title_en": table.title_en,
        "owner": _owner(table.owner),
        "classification": table.classification.value,
        "grants": [_owner(m) for m in getattr(ds, "grants", ())] if own else [],
        "freshness_sla": format_sla(table.freshness_sla),
        "columns": [
            {
                "name": c.name,
                "type": c.type,
                "unit": c.unit,
                "classification": (c.classification or table.classification).value,
                "nullable": c.nullable,
                "vi": c.vi,
                "en": c.en,
            }
            for c in table.columns
        ],
        "natural_key": list(ds.natural_key) if own and ds is not None else [],
        "partition_by": list(ds.partition_by) if own and ds is not None else [],
        "source": None,
        "lineage": None,
        "row_rules": [],
        "checks": [],
    }
    if ds is None:
        return out
    if ds.source is not None:
        out["source"] = {
            "channel": ds.source.channel.value,
            "options": dict(ds.source.options),
            "path": ds.source.path,
            "format": ds.source.format,
            "columns": list(ds.source.columns),
            "snapshot": ds.source.snapshot,
        }
    out["lineage"] = lineage(ds)
    # A quarantine table holds the rows the dataset's rules rejected: the same rules explain it.
    out["row_rules"] = [
        {"reason": r.reason, "rule_id": r.rule_id, "criterion": r.criterion.value, "description": r.description}
        for r in ds.row_rules
    ]
    if own:
        out["checks"] = [
            {
                "id": c.id,
                "criterion": c.criterion.value,
                "severity": c.severity.value,
                "description": c.description,
                "frame": c.frame,
            }
            for c in ds.checks
        ]
    if own and ds.layer == Layer.GOLD:
        out["scores_note"] = (
            "gold has no gate of its own; `lakehouse tables` shows the minimum current score of its "
            f"silver inputs ({', '.join(silver_inputs(ds))}) per criterion"
        )
    return out


def describe(name: str, settings: Settings, ministry: Ministry | None = None) -> dict[str, Any]:
    """The dictionary entry plus the table's Delta state (version, rows, history) when readable."""
    out = entry(name)
    table = resolve(name)
    status, dt, reason = _state(table, settings, ministry)
    out |= {
        "location": settings.s3_uri(table.key),
        "status": status,
        "version": dt.version() if dt is not None else None,
        "rows": row_count(dt) if dt is not None else None,
        "history": _history(dt) if dt is not None else [],
    }
    if reason:
        out["reason"] = reason
    if dt is not None:  # columns the dictionary does not list (e.g. a quality table added later)
        known = {c["name"] for c in out["columns"]}
        for col, arrow_type in _arrow_columns(dt):
            if col not in known:
                vi, en = COLUMN_MEANINGS.get(col, ("", ""))
                out["columns"].append(
                    {
                        "name": col,
                        "type": arrow_type,
                        "unit": None,
                        "nullable": True,
                        "classification": table.classification.value,
                        "vi": vi,
                        "en": en,
                    }
                )
    return out


def schemas(tables: Iterable[CatalogTable] | None = None) -> list[str]:
    """SQL schemas a query can name (one per layer: silver, gold, quarantine, quality)."""
    return sorted({t.schema for t in (tables if tables is not None else catalog_tables())})
