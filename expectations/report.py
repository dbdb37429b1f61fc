"""The data steward's report: one self-contained HTML page on the quality of the lake.

A steward (cán bộ quản lý dữ liệu) needs, on one page that opens without a network: the score
of each dataset on each criterion (đúng, đủ, sạch, sống) for the latest run, how those scores
moved over the last runs, which provinces and stations are worst, which stations fell silent and
when they were last heard, why rows were quarantined, what was released, and links into the GX
Data Docs for the detail. :func:`collect` reads the ``quality/`` tables through delta-rs (no
Spark, the caller's own S3 credentials) into a :class:`ReportData`; :func:`render` turns that into
HTML and does nothing else, so it is tested on hand-made data. Everything is inline (CSS, SVG
charts): the file can be mailed or opened from a USB stick.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from expectations.frames import GROUPED_ENTITIES
from jobs import provinces
from jobs.registry import REGISTRY, Layer
from jobs.storage import delta_table_or_none

if TYPE_CHECKING:
    from jobs.settings import Settings

CRITERIA: tuple[tuple[str, str], ...] = (
    ("đúng", "correct"),
    ("đủ", "complete"),
    ("sạch", "clean"),
    ("sống", "live"),
)
CRITERION_COLOURS = {"đúng": "#1f77b4", "đủ": "#ff7f0e", "sạch": "#2ca02c", "sống": "#9467bd"}
VN_OFFSET = timedelta(hours=7)
DEFAULT_RUNS = 14
WORST_LIMIT = 10


def default_output(settings: Settings) -> Path:
    """Where ``lakehouse report`` writes the page unless told otherwise."""
    return settings.state_dir / "reports" / "steward-report.html"


def docs_site(settings: Settings) -> Path:
    """The GX Data Docs site the report links into."""
    return settings.gx_root / "gx" / "uncommitted" / "data_docs" / "local_site"


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class DatasetScores:
    """One dataset's scores over its last runs (oldest first); ``None`` where a criterion was not scored."""

    dataset: str
    title_vi: str
    title_en: str
    intervals: list[str]
    scores: dict[str, list[float | None]]

    @property
    def latest(self) -> dict[str, float | None]:
        return {c: (values[-1] if values else None) for c, values in self.scores.items()}


@dataclass(frozen=True)
class EntityScore:
    """A province, station or facility scored on one criterion for one interval."""

    dataset: str
    entity_type: str
    entity_id: str
    name: str
    criterion: str
    score: float | None
    rows_failing: int | None
    rows_evaluated: int | None
    interval: str


@dataclass(frozen=True)
class SilentEntity:
    """An entity that stopped reporting (sống): who, and when it was last heard."""

    dataset: str
    entity_type: str
    entity_id: str
    name: str
    last_seen: str | None
    interval: str


@dataclass(frozen=True)
class QuarantineReason:
    """Rows quarantined for one reason: in the latest batch and over the runs shown."""

    dataset: str
    reason: str
    latest_rows: int
    window_rows: int


@dataclass(frozen=True)
class HeldRows:
    """Rows currently in a quarantine table, by reason (and status when the table has one)."""

    dataset: str
    reason: str
    status: str
    rows: int


@dataclass(frozen=True)
class HeldBatch:
    """A batch its gate stopped (``quality/held_batches``): waiting for a steward, or how it ended."""

    dataset: str
    batch_id: str
    interval: str
    status: str
    failed_checks: str
    staged: str
    held_at: str
    decided: str


@dataclass(frozen=True)
class AqiHour:
    """One cell of a station's hourly VN_AQI strip: the index and its band colour, or why none."""

    hour: int
    vn_aqi: int | None
    colour: str | None
    title: str


@dataclass(frozen=True)
class AqiStation:
    """A station's day in ``gold.environment_aqi_hourly``: 24 hours, worst first across stations."""

    station_id: str
    name: str
    date: str
    worst: int | None
    hours_without: int
    hours: list[AqiHour]


@dataclass(frozen=True)
class TableData:
    """A table shown as it is stored (releases)."""

    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class DocLink:
    label: str
    href: str


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, already read and ordered; :func:`render` only lays it out."""

    generated_at: str
    runs: int
    datasets: list[DatasetScores]
    worst: list[EntityScore] = field(default_factory=list)
    unnamed: list[EntityScore] = field(default_factory=list)
    """Lines that name no known station / facility (malformed, or an id the reference lacks), per group."""
    entity_source: str = "entity_scores"  # or "checks" (fallback: entities named by failing checks)
    silent: list[SilentEntity] = field(default_factory=list)
    quarantine: list[QuarantineReason] = field(default_factory=list)
    held: list[HeldRows] = field(default_factory=list)
    held_batches: list[HeldBatch] = field(default_factory=list)
    releases: TableData | None = None
    aqi_hourly: list[AqiStation] = field(default_factory=list)
    """The latest day of ``gold.environment_aqi_hourly`` (VN_AQI per station and hour)."""
    docs_index: str | None = None
    docs_pages: list[DocLink] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading the lake


def _rows(table: Any, columns: list[str] | None = None, filter_expr: Any = None) -> list[dict[str, Any]]:
    dataset = table.to_pyarrow_dataset()
    if columns is not None:
        columns = [c for c in columns if c in dataset.schema.names]
    return dataset.to_table(columns=columns, filter=filter_expr).to_pylist()  # type: ignore[no-any-return]


def interval_label(start: datetime) -> str:
    """A data interval as the steward knows it: the Vietnamese day (or local time if not midnight)."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    local = start.astimezone(UTC) + VN_OFFSET
    return f"{local:%Y-%m-%d}" if (local.hour, local.minute) == (0, 0) else f"{local:%Y-%m-%d %H:%M}"


def _local_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return f"{value.astimezone(UTC) + VN_OFFSET:%Y-%m-%d %H:%M} (giờ VN)"
    return str(value)


def _titles() -> dict[str, tuple[str, str]]:

    return {d.name: (d.title_vi, d.title_en) for d in REGISTRY}


def _entity_names(settings: Settings) -> dict[tuple[str, str], str]:
    """(entity type, id) -> display name: provinces from the 2025 list, stations and facilities from reference data."""
    names: dict[tuple[str, str], str] = {("province", k): v for k, v in provinces.PROVINCES_2025.items()}
    for ds in REGISTRY:
        if ds.layer != Layer.SILVER or ds.source is None or not ds.source.snapshot:
            continue
        cols = {f.name for f in ds.fields}
        for id_col in [c for c in cols if c.endswith("_id")]:
            kind = id_col.removesuffix("_id")
            if f"{kind}_name" not in cols:
                continue
            table = delta_table_or_none(settings, ds.table_path)
            if table is None:
                continue
            for row in _rows(table, [id_col, f"{kind}_name"]):
                if row.get(id_col) is not None:
                    names[(kind, str(row[id_col]))] = str(row.get(f"{kind}_name") or "")
    return names


def _name(names: dict[tuple[str, str], str], entity_type: str, entity_id: str) -> str:
    if (entity_type, entity_id) in names:
        return names[(entity_type, entity_id)]
    for (_, eid), name in names.items():  # a reading's "station" may be a facility in the reference list
        if eid == entity_id:
            return name
    return ""


def _collect_scores(settings: Settings, runs: int, notes: list[str]) -> tuple[list[DatasetScores], dict[str, Any]]:
    """Per dataset the last ``runs`` intervals; also returns each dataset's latest interval start."""
    table = delta_table_or_none(settings, "quality/scores")
    if table is None:
        notes.append("Chưa có bảng quality/scores — no scores yet: run the pipeline (make run) first.")
        return [], {}
    titles = _titles()
    by_dataset: dict[str, dict[Any, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in _rows(table, ["dataset", "criterion", "data_interval_start", "score"]):
        by_dataset[row["dataset"]][row["data_interval_start"]][row["criterion"]] = row["score"]
    order = {name: i for i, name in enumerate(titles)}
    out, latest = [], {}
    for dataset in sorted(by_dataset, key=lambda d: (order.get(d, len(order)), d)):
        starts = sorted(by_dataset[dataset])[-runs:]
        latest[dataset] = starts[-1]
        vi, en = titles.get(dataset, (dataset, dataset))
        out.append(
            DatasetScores(
                dataset=dataset,
                title_vi=vi,
                title_en=en,
                intervals=[interval_label(s) for s in starts],
                scores={c: [by_dataset[dataset][s].get(c) for s in starts] for c, _ in CRITERIA},
            )
        )
    return out, latest


def _collect_entities(
    settings: Settings, latest: dict[str, Any], names: dict[tuple[str, str], str]
) -> tuple[list[EntityScore], list[SilentEntity], list[EntityScore]] | None:
    """Worst, silent and unnamed entities of each dataset's latest interval, from quality/entity_scores.

    Lines naming no known entity are scored under a group id (``frames.GROUPED_ENTITIES``): they are
    shown apart, so "worst stations" lists stations.
    """
    table = delta_table_or_none(settings, "quality/entity_scores")
    if table is None:
        return None
    worst: list[EntityScore] = []
    unnamed: list[EntityScore] = []
    silent: dict[tuple[str, str, str], SilentEntity] = {}  # the table has one row per criterion: name each once
    for row in _rows(table):
        if latest.get(row["dataset"]) != row["data_interval_start"]:
            continue
        etype, eid = str(row["entity_type"]), str(row["entity_id"])
        label = interval_label(row["data_interval_start"])
        if row.get("silent"):
            seen = _local_time(row.get("last_seen"))
            key = (row["dataset"], etype, eid)
            if key not in silent or (seen or "") > (silent[key].last_seen or ""):
                silent[key] = SilentEntity(row["dataset"], etype, eid, _name(names, etype, eid), seen, label)
        if row.get("score") is not None and row["score"] < 100:
            (unnamed if eid in GROUPED_ENTITIES else worst).append(
                EntityScore(
                    row["dataset"], etype, eid, _name(names, etype, eid), row["criterion"], row["score"],
                    row.get("rows_failing"), row.get("rows_evaluated"), label,
                )
            )  # fmt: skip
    worst.sort(key=lambda e: (e.entity_type, e.score if e.score is not None else 101, e.dataset, e.entity_id))
    kept: dict[str, int] = defaultdict(int)
    limited = []
    for e in worst:  # the worst few of each kind (provinces, stations, …)
        if kept[e.entity_type] < WORST_LIMIT:
            kept[e.entity_type] += 1
            limited.append(e)
    unnamed.sort(key=lambda e: (e.dataset, e.entity_id, e.criterion))
    silent_list = sorted(silent.values(), key=lambda s: (s.dataset, s.entity_type, s.last_seen or "", s.entity_id))
    return limited, silent_list, unnamed


def _collect_entities_from_checks(
    settings: Settings, latest: dict[str, Any], names: dict[tuple[str, str], str]
) -> tuple[list[EntityScore], list[SilentEntity], list[EntityScore]]:
    """Fallback: the entities that failing entity-frame checks name in their samples."""
    import pyarrow.compute as pc

    table = delta_table_or_none(settings, "quality/checks")
    if table is None:
        return [], [], []
    worst: list[EntityScore] = []
    silent: list[SilentEntity] = []
    for row in _rows(table):
        if row["frame"] != "entity" or row["success"] or latest.get(row["dataset"]) != row["data_interval_start"]:
            continue
        try:
            ds = REGISTRY[row["dataset"]]
        except KeyError:
            continue
        ids = [str(v) for v in json.loads(row["sample"] or "[]")]
        etype = (ds.entity_column or "entity").removesuffix("_id")
        last_seen: dict[str, Any] = {}
        data = delta_table_or_none(settings, ds.table_path)
        if ids and data is not None and ds.entity_column and ds.event_time:
            seen = data.to_pyarrow_dataset().to_table(
                columns=[ds.entity_column, ds.event_time], filter=pc.field(ds.entity_column).isin(ids)
            )
            grouped = seen.group_by(ds.entity_column).aggregate([(ds.event_time, "max")])
            ids_seen, times = grouped[ds.entity_column].to_pylist(), grouped[f"{ds.event_time}_max"].to_pylist()
            last_seen = dict(zip(ids_seen, times, strict=True))
        label = interval_label(row["data_interval_start"])
        for eid in ids:
            silent.append(
                SilentEntity(ds.name, etype, eid, _name(names, etype, eid), _local_time(last_seen.get(eid)), label)
            )
            worst.append(
                EntityScore(ds.name, etype, eid, _name(names, etype, eid), row["criterion"], None, None, None, label)
            )
    return worst, silent, []


def _collect_quarantine(settings: Settings, runs: int) -> list[QuarantineReason]:
    table = delta_table_or_none(settings, "quality/batch_accounting")
    if table is None:
        return []
    by_dataset: dict[str, list[tuple[Any, dict[str, int]]]] = defaultdict(list)
    for row in _rows(table, ["dataset", "data_interval_start", "quarantined_by_reason"]):
        by_dataset[row["dataset"]].append(
            (row["data_interval_start"], json.loads(row["quarantined_by_reason"] or "{}"))
        )
    out = []
    for dataset, batches in sorted(by_dataset.items()):
        batches.sort(key=lambda b: b[0])
        window = batches[-runs:]
        latest_start = window[-1][0]
        latest_reasons: dict[str, int] = defaultdict(int)
        totals: dict[str, int] = defaultdict(int)
        for start, reasons in window:
            for reason, rows in reasons.items():
                totals[reason] += rows
                if start == latest_start:
                    latest_reasons[reason] += rows
        for reason in sorted(totals, key=lambda r: (-latest_reasons.get(r, 0), -totals[r], r)):
            out.append(QuarantineReason(dataset, reason, latest_reasons.get(reason, 0), totals[reason]))
    return out


def _collect_held(settings: Settings) -> list[HeldRows]:

    out = []
    for ds in REGISTRY:
        if ds.layer != Layer.SILVER:
            continue
        table = delta_table_or_none(settings, f"quarantine/{ds.sector}/{ds.name}")
        if table is None:
            continue
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for row in _rows(table, ["reason_code", "status"]):
            counts[(str(row.get("reason_code")), str(row.get("status") or "—"))] += 1
        for (reason, status), rows in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(HeldRows(ds.name, reason, status, rows))
    return out


def _collect_held_batches(settings: Settings, limit: int = 20) -> list[HeldBatch]:
    """Batches stopped by their gate: the ones still held first, then the latest decisions."""
    table = delta_table_or_none(settings, "quality/held_batches")
    if table is None:
        return []
    rows = sorted(_rows(table), key=lambda r: (r["status"] != "held", -(r["held_at"] or datetime.min).timestamp()))
    out = []
    for r in rows[:limit]:
        checks = json.loads(r.get("failed_checks") or "[]")
        decided = f"{r['decided_by']}: {r['decision_reason']}" if r.get("decided_by") else "—"
        out.append(
            HeldBatch(
                dataset=r["dataset"],
                batch_id=r["batch_id"],
                interval=interval_label(r["data_interval_start"]),
                status=r["status"],
                failed_checks=", ".join(f"{c['check_id']} ({c['criterion']})" for c in checks),
                staged=f"{r['staged_rows']:,} + {r['staged_quarantine_rows']:,}",
                held_at=_local_time(r["held_at"]) or "—",
                decided=decided,
            )
        )
    return out


def _collect_releases(settings: Settings, limit: int = 20) -> TableData | None:
    table = delta_table_or_none(settings, "quality/releases")
    if table is None:
        return None
    rows = _rows(table)
    columns = list(table.to_pyarrow_dataset().schema.names)
    times = [c for c in columns if rows and isinstance(rows[0].get(c), datetime)]
    if times:
        rows.sort(key=lambda r: r[times[0]] or datetime.min.replace(tzinfo=UTC), reverse=True)

    def cell(value: Any) -> str:
        text = (_local_time(value) if isinstance(value, datetime) else None) or ("" if value is None else str(value))
        return text if len(text) <= 160 else f"{text[:157]}…"

    return TableData(columns, [[cell(r.get(c)) for c in columns] for r in rows[:limit]])


def _collect_aqi_hourly(settings: Settings, names: dict[tuple[str, str], str], limit: int = 40) -> list[AqiStation]:
    """The latest day of the hourly VN_AQI table: each station's 24 hours, worst stations first."""
    import pyarrow.compute as pc

    table = delta_table_or_none(settings, "gold/environment/aqi_hourly")
    if table is None:
        return []
    days = _rows(table, ["date"])
    if not days:
        return []
    day = max(r["date"] for r in days)
    columns = ["station_id", "hour", "vn_aqi", "colour", "band", "dominant_parameter", "no_index_reason"]
    by_station: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _rows(table, columns, pc.field("date") == day):
        by_station[r["station_id"]].append(r)
    out = []
    for station, rows in by_station.items():
        hours = [
            AqiHour(
                r["hour"],
                r["vn_aqi"],
                r["colour"],
                f"{r['hour']:02d}:00 VN_AQI {r['vn_aqi']} {r['band']} ({r['dominant_parameter']})"
                if r["vn_aqi"] is not None
                else f"{r['hour']:02d}:00 {r['no_index_reason']}",
            )
            for r in sorted(rows, key=lambda r: r["hour"])
        ]
        indexed = [h.vn_aqi for h in hours if h.vn_aqi is not None]
        out.append(
            AqiStation(
                station_id=station,
                name=_name(names, "station", station),
                date=f"{day}",
                worst=max(indexed) if indexed else None,
                hours_without=len(hours) - len(indexed),
                hours=hours,
            )
        )
    out.sort(key=lambda s: (-(s.worst if s.worst is not None else -1), s.station_id))
    return out[:limit]


def _href(target: Path, base: Path) -> str:
    return quote(Path(os.path.relpath(target, base)).as_posix())


def _collect_docs(settings: Settings, link_base: Path) -> tuple[str | None, list[DocLink]]:
    """The Data Docs index and the latest validation page of each dataset × frame, relative to the report."""
    site = docs_site(settings)
    index = site / "index.html"
    if not index.is_file():
        return None, []
    latest: dict[tuple[str, str], Path] = {}
    for page in (site / "validations").glob("*/*/*/*/*.html"):
        dataset, frame, _run, stamp = page.relative_to(site / "validations").parts[:4]
        key = (dataset, frame)
        if key not in latest or stamp > latest[key].parent.name:
            latest[key] = page
    pages = [
        DocLink(f"{dataset} · {frame} · {page.parent.name}", _href(page, link_base))
        for (dataset, frame), page in sorted(latest.items())
    ]
    return _href(index, link_base), pages


def collect(settings: Settings, runs: int = DEFAULT_RUNS, link_base: Path | None = None) -> ReportData:
    """Read what the report shows from the lake (delta-rs) and the local GX site.

    ``link_base`` is the folder the page will be written to: Data Docs links are relative to it.
    """
    notes: list[str] = []
    datasets, latest = _collect_scores(settings, runs, notes)
    names = _entity_names(settings)
    entities = _collect_entities(settings, latest, names)
    source = "entity_scores"
    if entities is None:
        source = "checks"
        notes.append(
            "Bảng quality/entity_scores chưa có — quality/entity_scores does not exist yet: worst and silent "
            "entities are the ones named by failing checks (without per-entity scores)."
        )
        entities = _collect_entities_from_checks(settings, latest, names)
    releases = _collect_releases(settings)
    docs_index, docs_pages = _collect_docs(settings, link_base or default_output(settings).parent)
    if docs_index is None:
        notes.append("Data Docs chưa được tạo — the GX Data Docs have not been built yet.")
    return ReportData(
        generated_at=f"{datetime.now(UTC) + VN_OFFSET:%Y-%m-%d %H:%M} (giờ VN)",
        runs=runs,
        datasets=datasets,
        worst=entities[0],
        unnamed=entities[2],
        entity_source=source,
        silent=entities[1],
        quarantine=_collect_quarantine(settings, runs),
        held=_collect_held(settings),
        held_batches=_collect_held_batches(settings),
        releases=releases,
        aqi_hourly=_collect_aqi_hourly(settings, names),
        docs_index=docs_index,
        docs_pages=docs_pages,
        notes=notes,
    )


def build_report(settings: Settings, out: Path | None = None, runs: int = DEFAULT_RUNS) -> Path:
    """Collect, render and write the page; returns its path."""
    out = Path(out) if out is not None else default_output(settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = collect(settings, runs=runs, link_base=out.parent.resolve())
    out.write_text(render(data), encoding="utf-8")
    return out


# --------------------------------------------------------------------------- rendering


def score_colour(score: float | None) -> str:
    """Cell background: red at 70 or below, through amber, to green at 100 (grey when not scored)."""
    if score is None:
        return "#eeeeee"
    share = min(max((score - 70.0) / 30.0, 0.0), 1.0)
    return f"hsl({round(share * 125)}, 70%, 82%)"


@dataclass(frozen=True)
class _Line:
    criterion: str
    colour: str
    points: list[tuple[float, float, str]]  # x, y, tooltip

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


@dataclass(frozen=True)
class _Chart:
    dataset: str
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    lines: list[_Line]


def trend_chart(ds: DatasetScores, width: int = 400, height: int = 220) -> _Chart:
    """Geometry of one dataset's trend chart: 0–100 on y, one line per criterion over the runs."""
    left, top, right, bottom = 62, 12, 16, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(ds.intervals)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(score: float) -> float:
        return top + plot_h * (1 - max(0.0, min(score, 100.0)) / 100)

    lines = []
    for criterion, _ in CRITERIA:
        values = ds.scores.get(criterion, [])
        pts = [(x(i), y(v), f"{criterion} {ds.intervals[i]}: {v:.2f}") for i, v in enumerate(values) if v is not None]
        if pts:
            lines.append(_Line(criterion, CRITERION_COLOURS[criterion], pts))
    step = max(1, (n + 6) // 7)  # at most about 7 date labels, counted back from the latest run
    x_ticks = [(x(i), ds.intervals[i]) for i in range(n) if (n - 1 - i) % step == 0]
    y_ticks = [(y(v), str(v)) for v in (0, 25, 50, 75, 100)]
    return _Chart(ds.dataset, width, height, left, top, plot_w, plot_h, y_ticks, x_ticks, lines)


TEMPLATE = "steward_report.html.j2"
"""The page's Jinja template, beside this module (autoescaped)."""


def render(data: ReportData) -> str:
    """The page for ``data``: pure (no I/O), every text escaped by Jinja's autoescape."""
    from importlib.resources import files

    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=True, undefined=StrictUndefined)
    template = env.from_string((files("expectations") / TEMPLATE).read_text(encoding="utf-8"))
    return template.render(
        data=data,
        criteria=CRITERIA,
        charts=[trend_chart(ds) for ds in data.datasets],
        colour=score_colour,
    )
