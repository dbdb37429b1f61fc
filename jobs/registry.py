"""The dataset registry: the project's data dictionary.

Each :class:`Dataset` says what a table is (layer, schema with Vietnamese and English meanings,
natural key, owner ministry, classification, freshness SLA), where its rows come from (source and
transform) and what "đúng, đủ, sạch, sống" means for it (row rules that quarantine, gate checks
that Great Expectations runs). Jobs, expectation suites, docs and (later) access grants are all
derived from these entries, so adding a dataset means adding one entry and its transform.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

RULESET_VERSION = "2026.12.1"
"""Bumped whenever a row rule or gate check changes meaning; recorded with every score."""


class Criterion(StrEnum):
    """The strategy's four quality criteria (Decision 142/QĐ-TTg)."""

    CORRECT = "đúng"
    COMPLETE = "đủ"
    CLEAN = "sạch"
    LIVE = "sống"


class Severity(StrEnum):
    CRITICAL = "critical"  # stops the DAG before gold
    WARNING = "warning"  # lowers the score, data still published


class Layer(StrEnum):
    LANDING = "landing"
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    QUARANTINE = "quarantine"
    QUALITY = "quality"


class Classification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    PERSONAL = "personal"
    SENSITIVE = "sensitive"


class Ministry(StrEnum):
    """Ministries that own or read datasets; each reads the store as its own identity (see jobs/access.py)."""

    AGRICULTURE_ENVIRONMENT = "Bộ Nông nghiệp và Môi trường"
    CONSTRUCTION = "Bộ Xây dựng"
    PUBLIC_SECURITY = "Bộ Công an"
    FINANCE = "Bộ Tài chính"  # the national statistics office sits here since 2025
    HEALTH = "Bộ Y tế"

    @property
    def code(self) -> str:
        """Short ASCII code: names the ministry's store identity, env keys and ``--ministry``."""
        return MINISTRY_CODES[self]


MINISTRY_CODES: Mapping[Ministry, str] = MappingProxyType(
    {
        Ministry.AGRICULTURE_ENVIRONMENT: "mae",
        Ministry.CONSTRUCTION: "moc",
        Ministry.PUBLIC_SECURITY: "mps",
        Ministry.FINANCE: "mof",
        Ministry.HEALTH: "moh",
    }
)


@dataclass(frozen=True)
class Field:
    """One column: Spark SQL type and what it means, in Vietnamese and English."""

    name: str
    type: str
    vi: str
    en: str
    unit: str | None = None
    nullable: bool = True
    classification: Classification = Classification.PUBLIC
    pseudonym_of: str | None = None  # keyed HMAC of this personal source column (see PersonalData)
    key_id_of: str | None = None  # the pseudonym field whose key id this column holds (added by Dataset)


KEY_ID_SUFFIX = "_key_id"


def key_id_column(pseudonym_field: str) -> str:
    """The column beside a pseudonym naming the keyring key it was computed under (jobs/privacy.py)."""
    return f"{pseudonym_field}{KEY_ID_SUFFIX}"


def key_id_field(pseudonym: Field) -> Field:
    """The registered key id field of a pseudonym field: every schema, doc and suite gets it from here."""
    return Field(
        key_id_column(pseudonym.name),
        "STRING",
        f"Mã khóa giả danh của {pseudonym.name}",
        f"Id of the pseudonym key {pseudonym.name} was computed under (`lakehouse keys rotate`)",
        classification=Classification.INTERNAL,
        key_id_of=pseudonym.name,
    )


@dataclass(frozen=True)
class RowRule:
    """A silver row rule: a typed row matching ``when`` (Spark SQL) is quarantined with ``reason``.

    Rules are tried in order and the first match names the reason, so order them from the most
    basic failure (unparseable line) to the most specific (cross-field consistency).
    """

    reason: str
    when: str
    criterion: Criterion
    description: str
    version: int = 1
    acceptable: bool = False
    """A data steward may accept a row this rule rejected as it is (``lakehouse quarantine release
    --accept``): only for rules a person can judge wrong for one row (a status flag, a reference
    mismatch), never for a value that does not exist or a bound a critical gate check enforces."""

    @property
    def rule_id(self) -> str:
        return f"{self.reason.lower()}.v{self.version}"


def undecidable_text_rule() -> RowRule:
    """Quarantine a row whose text still looks TCVN3/VNI-encoded after repair (``jobs.conform.repaired_text``
    sets ``_text_undecidable``): a guess would store mojibake or a wrong name, so a steward decides."""
    return RowRule(
        "UNDECIDABLE_TEXT",
        "_text_undecidable IS NOT NULL",
        Criterion.CLEAN,
        "Text looks legacy-encoded (TCVN3/VNI) and no decoding of it is certain.",
    )


# (reason code, the ``_parse_error`` prefix bronze writes, description): see jobs/guards.py, which
# writes these prefixes, and jobs.settings.InputLimits for the limits.
_GUARDS: tuple[tuple[str, str, str], ...] = (
    (
        "RECORD_TOO_LARGE",
        "record too large",
        "The record (e.g. a 10 MB field) is longer than LAKEHOUSE_MAX_RECORD_CHARS.",
    ),
    ("TOO_MANY_FIELDS", "too many fields", "The CSV record has more fields than LAKEHOUSE_MAX_FIELDS."),
    ("NESTING_TOO_DEEP", "nesting too deep", "The JSON record is nested deeper than LAKEHOUSE_MAX_JSON_DEPTH."),
    ("INVALID_ENCODING", "invalid UTF-8", "The record has bytes that are not UTF-8 in a UTF-8 file."),
    ("NON_FINITE_NUMBER", "non-finite number", "A number is NaN or infinite."),
)


def input_guard_rules(fields: tuple[Field, ...]) -> tuple[RowRule, ...]:
    """Rules every landed dataset gets first: a record bronze's guards refused to parse (too large,
    too many fields, too deep, bad bytes) and a DOUBLE field that is NaN or infinite (``NaN``,
    ``Infinity``, ``1e999``, or a finite value an unit factor overflowed); ``1e308`` itself is finite and
    left to the dataset's range rules. All of them for every source: a dataset whose channel lands JSON
    lines may be replayed from a CSV export (``jobs.extract.file``)."""
    rules = [
        RowRule(code, f"_parse_error LIKE '{prefix}:%'", Criterion.CORRECT, text) for code, prefix, text in _GUARDS
    ]
    doubles = [f.name for f in fields if f.type.upper() in ("DOUBLE", "FLOAT")]
    if doubles:  # NaN or ±Infinity in a CSV field too, not only a bare NaN in JSON (above): one reason
        last = rules.pop()
        typed = " OR ".join(f"isnan(`{c}`) OR abs(`{c}`) = double('infinity')" for c in doubles)
        rules.append(dataclasses.replace(last, when=f"{last.when} OR {typed}"))
    return tuple(rules)


@dataclass(frozen=True)
class Check:
    """A gate check, run as one Great Expectations expectation.

    ``frame`` says what the expectation looks at: ``silver`` = the batch's good rows (with derived
    check columns), ``lines`` = every landed line of the batch with its outcome and the criterion
    that rejected it (``"none"`` when accepted), so rejection shares are checked by GX too,
    ``entity`` = every active entity × hour of the interval (coverage and silence),
    ``published`` = the natural keys silver would hold for the batch's keys once it is published.
    """

    id: str
    criterion: Criterion
    severity: Severity
    expectation: str
    kwargs: Mapping[str, Any]
    description: str
    frame: str = "silver"
    derive: tuple[tuple[str, str], ...] = ()
    """Check columns this check reads, as (name, Spark SQL over the frame's columns); the gate adds
    every check's columns to its frame in one select, so a check costs no extra pass."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))


class Channel(StrEnum):
    """How a source delivers its data; the adapter is ``jobs/extract/<channel>.py``."""

    FILE = "file"  # a file dropped under LAKEHOUSE_SOURCE_ROOT (replays, backfills, fixtures)
    HTTP = "http"  # an HTTP API: file downloads, paginated JSON, JSON documents
    FTP = "ftp"  # files pushed to an FTP server (monitoring stations)
    MQTT = "mqtt"  # messages published live to a broker
    GTFS = "gtfs"  # a GTFS static feed (zip over HTTP), one member file per dataset
    LIBRARY = "library"  # a well-kept library's reference tables (administrative units)


@dataclass(frozen=True)
class Source:
    """How a dataset's source delivers it.

    ``path`` is the local-drop file (relative to the source root) the ``file`` channel reads, and
    what every channel falls back to when ``LAKEHOUSE_EXTRACT_FROM=local``. ``options`` are the
    channel's own (endpoint path, topic, FTP directory, zip member …). Strings in both are
    formatted with the data interval's local start date (``{date:%Y%m%d}``).

    ``format`` is what the channel lands: ``csv`` (a header line, checked against ``columns``) or
    ``jsonl`` (one JSON object per line; each column read at ``json_paths[column]``, default
    ``$.<column>``; arrays and objects come out as JSON text).
    """

    path: str
    columns: tuple[str, ...]
    format: str = "csv"
    snapshot: bool = False  # reference data: the whole table each time, not an interval's events
    channel: Channel = Channel.FILE
    options: Mapping[str, Any] = field(default_factory=dict)
    json_paths: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.format not in ("csv", "jsonl"):
            raise ValueError(f"Source {self.path}: format must be 'csv' or 'jsonl', not {self.format!r}")
        unknown = set(self.json_paths) - set(self.columns)
        if unknown:
            raise ValueError(f"Source {self.path}: json_paths for columns it does not declare: {sorted(unknown)}")
        object.__setattr__(self, "channel", Channel(self.channel))
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        object.__setattr__(self, "json_paths", MappingProxyType(dict(self.json_paths)))

    @property
    def extension(self) -> str:
        return self.format

    def json_path(self, column: str) -> str:
        return self.json_paths.get(column, f"$.{column}")


class PersonalKind(StrEnum):
    """How a personal source column is normalized before it is pseudonymized or matched (jobs/privacy.py)."""

    NAME = "name"  # NFC, single spaces
    PHONE = "phone"  # E.164, +84…
    IDENTIFIER = "identifier"  # upper case, no separators (plates, driver ids)


@dataclass(frozen=True)
class PersonalData:
    """Source columns holding personal data (Decree 13/2023): never copied to silver or gold.

    Their normalized values are kept only in the restricted Delta table ``restricted/<sector>/<table>``
    (no ministry identity can read it), keyed by the dataset's natural key and the pseudonym fields
    (``Field(pseudonym_of=...)``); an erasure (``lakehouse erase``) finds a data subject by them.
    """

    table: str
    columns: Mapping[str, PersonalKind]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))


@dataclass(frozen=True)
class Dataset:
    """One registered dataset (a table in one layer)."""

    name: str
    sector: str
    layer: Layer
    title_vi: str
    title_en: str
    owner: Ministry
    classification: Classification
    fields: tuple[Field, ...]
    natural_key: tuple[str, ...]
    transform: str
    freshness_sla: timedelta | None = None
    event_time: str | None = None
    partition_by: tuple[str, ...] = ()
    source: Source | None = None
    inputs: tuple[str, ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    checks: tuple[Check, ...] = ()
    entity_column: str | None = None
    replace_key: str | None = None
    grants: tuple[Ministry, ...] = ()  # other ministries explicitly granted read of an INTERNAL dataset
    personal: PersonalData | None = None
    # How often each entity reports (readings): a silence longer than this raises an alert.
    reading_interval: timedelta | None = None
    # Gold built from episodes that span days (alerts): when a day is rebuilt, so are this many days
    # before it, so an episode opened on one of them gets its close time.
    rebuild_days_before: int = 0
    # Typed columns kept beside the raw line of each quarantined row (``record``, strings), for readers
    # of the quarantine that must place a rejected record: the device-error alerts. Never personal.
    quarantine_record: tuple[str, ...] = ()
    # Datasets whose quarantine rows a gold transform reads too, as ``inputs[quarantine_input(name)]``.
    quarantine_inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = {f.name for f in self.fields}
        with_key_ids: list[Field] = []
        for f in self.fields:  # each pseudonym gets its key id column right after it, from one place
            with_key_ids.append(f)
            if f.pseudonym_of is not None and key_id_column(f.name) not in names:
                with_key_ids.append(key_id_field(f))
        object.__setattr__(self, "fields", tuple(with_key_ids))
        if self.source is not None:  # hostile-input guards come before the dataset's own rules
            own = {r.reason for r in self.row_rules}
            guards = tuple(r for r in input_guard_rules(self.fields) if r.reason not in own)
            object.__setattr__(self, "row_rules", (*guards, *self.row_rules))

    @property
    def pseudonym_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.pseudonym_of is not None)

    @property
    def key_id_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.key_id_of is not None)

    @property
    def restricted_table_path(self) -> str | None:
        """Key prefix of the restricted table holding this dataset's raw personal values, if any."""
        return f"restricted/{self.sector}/{self.personal.table}" if self.personal else None

    @property
    def table_path(self) -> str:
        """Key prefix of the Delta table inside the lake bucket."""
        return f"{self.layer.value}/{self.sector}/{self.name}"

    @property
    def qualified_name(self) -> str:
        """How ministries name it in SQL, e.g. ``gold.environment_aqi_daily``."""
        return f"{self.layer.value}.{self.sector}_{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def spark_schema(self) -> StructType:
        from pyspark.sql.types import StructType

        schema = StructType.fromDDL(", ".join(f"`{f.name}` {f.type}" for f in self.fields))
        assert isinstance(schema, StructType)
        return schema

    def load_transform(self) -> Callable[..., Any]:
        """The dataset's pure transform, imported only when a job needs it."""
        module_name, _, attr = self.transform.partition(":")
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]


@dataclass
class Registry:
    """All datasets, by name."""

    datasets: dict[str, Dataset] = field(default_factory=dict)

    def add(self, *datasets: Dataset) -> None:
        for ds in datasets:
            if ds.name in self.datasets:
                raise ValueError(f"dataset {ds.name!r} is registered twice")
            missing = [k for k in ds.natural_key if k not in ds.column_names]
            if missing:
                raise ValueError(f"{ds.name}: natural key columns {missing} are not in its fields")
            _check_grants(ds)
            _check_personal(ds)
            _check_quarantine_record(ds)
            self.datasets[ds.name] = ds

    def __getitem__(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self.datasets, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"unknown dataset {name!r}.{hint} Known: {', '.join(sorted(self.datasets))}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.datasets.values())

    def by_sector(self, sector: str, layer: Layer | None = None) -> list[Dataset]:
        return [d for d in self if d.sector == sector and (layer is None or d.layer == layer)]


_NEVER_GRANTED = (Classification.PERSONAL, Classification.SENSITIVE)


def _check_grants(ds: Dataset) -> None:
    """Grants only widen INTERNAL tables; personal and sensitive data is never shared by grant."""
    if not ds.grants:
        return
    if ds.classification == Classification.PUBLIC:
        raise ValueError(f"{ds.name}: is PUBLIC, every ministry reads it already; remove its grants")
    private = [f.name for f in ds.fields if f.classification in _NEVER_GRANTED]
    if ds.classification in _NEVER_GRANTED or private:
        what = f"fields {private}" if private else ds.classification.value.upper()
        raise ValueError(
            f"{ds.name}: holds {what} data, which may not be granted to other ministries; remove its "
            "grants and publish an aggregated or de-identified table for them instead"
        )
    if ds.owner in ds.grants:
        raise ValueError(f"{ds.name}: the owner {ds.owner.code} reads its own data; remove it from grants")
    if len(set(ds.grants)) != len(ds.grants):
        raise ValueError(f"{ds.name}: a ministry is granted twice: {[m.code for m in ds.grants]}")


def quarantine_input(name: str) -> str:
    """The key under which a gold transform gets dataset ``name``'s quarantine rows (``quarantine_inputs``)."""
    return f"{name}_quarantine"


def _check_quarantine_record(ds: Dataset) -> None:
    """A quarantined row's ``record`` holds typed values that erasure does not redact: never personal."""
    by_name = {f.name: f for f in ds.fields}
    unknown = [n for n in ds.quarantine_record if n not in by_name]
    if unknown:
        raise ValueError(f"{ds.name}: quarantine_record names {unknown}, which are not its fields")
    personal = [n for n in ds.quarantine_record if by_name[n].classification == Classification.PERSONAL]
    if personal or (ds.quarantine_record and ds.personal):
        what = personal or "the dataset has personal columns"
        raise ValueError(f"{ds.name}: quarantine_record may not keep personal data ({what})")


def _check_personal(ds: Dataset) -> None:
    """Raw personal values stay in landing/bronze/restricted; silver carries pseudonyms; gold neither."""
    personal = [f.name for f in ds.fields if f.classification == Classification.PERSONAL]
    if ds.layer == Layer.GOLD and personal:
        raise ValueError(
            f"{ds.name}: gold tables never carry personal data, but {personal} are PERSONAL; aggregate or drop them"
        )
    declared = dict(ds.personal.columns) if ds.personal else {}
    if ds.personal and (ds.source is None or set(declared) - set(ds.source.columns)):
        raise ValueError(f"{ds.name}: personal columns {sorted(declared)} must be columns of its source")
    raw = [f.name for f in ds.fields if f.name in declared]
    if raw:
        raise ValueError(f"{ds.name}: {raw} are raw personal source columns; register a pseudonym field instead")
    for f in ds.pseudonym_fields:
        if f.pseudonym_of not in declared:
            raise ValueError(
                f"{ds.name}.{f.name}: pseudonym_of={f.pseudonym_of!r} is not a personal column declared in "
                f"Dataset.personal ({sorted(declared) or 'none'})"
            )
        if f.classification != Classification.PERSONAL or f.type != "STRING":
            raise ValueError(f"{ds.name}.{f.name}: a pseudonym is PERSONAL data of type STRING (hex HMAC)")
    by_name = {f.name: f for f in ds.fields}
    expected_key_ids = {key_id_column(p.name): key_id_field(p) for p in ds.pseudonym_fields}
    for name in {f.name for f in ds.key_id_fields} | set(expected_key_ids):
        if by_name.get(name) != expected_key_ids.get(name):
            raise ValueError(f"{ds.name}.{name}: key id columns are added by the registry; do not declare them")
    if ds.layer == Layer.GOLD and (ds.pseudonym_fields or ds.key_id_fields):
        raise ValueError(f"{ds.name}: gold tables never carry pseudonyms or their key ids; aggregate them away")
    if ds.personal and not ds.pseudonym_fields:
        raise ValueError(f"{ds.name}: declares personal columns but no pseudonym field to key them by")
    rank = list(Classification)  # public < internal < personal < sensitive
    strictest = max((f.classification for f in ds.fields), key=rank.index, default=ds.classification)
    if rank.index(strictest) > rank.index(ds.classification):
        raise ValueError(
            f"{ds.name}: classified {ds.classification.value} but holds {strictest.value} columns; the store grants "
            f"whole tables, so classify the dataset {strictest.value} (or move those columns to a table of their own)"
        )


SECTORS = ("reference", "environment", "agriculture", "transport")
"""Sector packages ``jobs/<sector>/datasets.py`` whose ``DATASETS`` make up the registry."""


def build_registry() -> Registry:
    """Collect every sector's entries (import-light: no Spark, no I/O)."""
    registry = Registry()
    for sector in SECTORS:
        try:
            module = importlib.import_module(f"jobs.{sector}.datasets")
        except ModuleNotFoundError as err:
            if err.name not in (f"jobs.{sector}", f"jobs.{sector}.datasets"):
                raise
            continue  # a sector not built yet
        registry.add(*module.DATASETS)
    return registry


@lru_cache(maxsize=1)
def _registry() -> Registry:
    return build_registry()


def __getattr__(name: str) -> Registry:
    """``REGISTRY`` is built on first use, so sector modules can import this one freely."""
    if name == "REGISTRY":
        return _registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
