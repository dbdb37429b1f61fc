"""Open data: every PUBLIC gold table as CSV and Parquet, described in DCAT-AP (JSON-LD).

Registry-driven: a gold dataset classified PUBLIC is published; nothing else can be (gold never
carries personal fields, the registry refuses it). Tables are read with delta-rs (no JVM) and
written to the open-data bucket (``LAKEHOUSE_OPENDATA_BUCKET``, public read), under
``<sector>/<dataset>/``: ``<dataset>.csv`` (UTF-8), ``<dataset>.parquet`` and ``dataset.jsonld``
(one ``dcat:Dataset``); ``catalog.jsonld`` (a ``dcat:Catalog``) lists every published dataset.
The JSON-LD context is inline, so no reader has to fetch anything.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobs.errors import UserFacingError
from jobs.provinces import PROVINCES_2025
from jobs.registry import REGISTRY, Classification, Criterion, Dataset, Layer, Ministry
from jobs.settings import Settings, get_settings
from jobs.storage import delta_table_or_none, s3_client

if TYPE_CHECKING:
    import pyarrow as pa

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
CONTEXT: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "dqv": "http://www.w3.org/ns/dqv#",
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
MINISTRY_EN: dict[Ministry, str] = {
    Ministry.AGRICULTURE_ENVIRONMENT: "Ministry of Agriculture and Environment",
    Ministry.CONSTRUCTION: "Ministry of Construction",
    Ministry.PUBLIC_SECURITY: "Ministry of Public Security",
}
CRITERION_EN = {
    Criterion.CORRECT: "correct",
    Criterion.COMPLETE: "complete",
    Criterion.CLEAN: "clean",
    Criterion.LIVE: "live",
}
FORMATS = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


@dataclass(frozen=True)
class Published:
    dataset: str
    rows: int
    keys: dict[str, str]  # format -> object key
    sizes: dict[str, int]


def _lang(vi: str, en: str) -> list[dict[str, str]]:
    return [{"@value": vi, "@language": "vi"}, {"@value": en, "@language": "en"}]


def _typed(value: str, xsd: str) -> dict[str, str]:
    return {"@value": value, "@type": f"xsd:{xsd}"}


def base_url(settings: Settings) -> str:
    """Where the open-data objects are downloaded from (``LAKEHOUSE_OPENDATA_BASE_URL`` when proxied)."""
    configured = os.environ.get("LAKEHOUSE_OPENDATA_BASE_URL", "").strip()
    return (configured or f"{settings.s3_endpoint.rstrip('/')}/{settings.opendata_bucket}").rstrip("/")


def public_gold(names: list[str] | None = None) -> list[Dataset]:
    """The gold tables that may be published (all PUBLIC ones, or those named)."""
    public = [d for d in REGISTRY if d.layer == Layer.GOLD and d.classification == Classification.PUBLIC]
    if not names:
        return public
    chosen = []
    for name in names:
        ds = REGISTRY[name] if name in REGISTRY.datasets else None
        if ds is None or ds not in public:
            raise UserFacingError(
                f"{name!r} is not a PUBLIC gold dataset, so it cannot be published as open data; "
                f"publishable: {', '.join(sorted(d.name for d in public))}"
            )
        chosen.append(ds)
    return chosen


def _inputs_closure(ds: Dataset) -> list[Dataset]:
    """Every dataset ``ds`` is built from, transitively (silver inputs carry the quality scores)."""
    seen: dict[str, Dataset] = {}
    stack = list(ds.inputs)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen[name] = REGISTRY[name]
            stack.extend(seen[name].inputs)
    return sorted(seen.values(), key=lambda d: d.name)


def accrual_periodicity(ds: Dataset) -> str:
    """From the freshness SLA of what feeds it: gold is rebuilt per day when its inputs are (sub-)daily."""
    slas = [d.freshness_sla for d in [ds, *_inputs_closure(ds)] if d.freshness_sla is not None]
    if not slas:
        return f"{FREQUENCY}IRREG"
    sla = min(slas)
    if sla <= timedelta(days=1):
        return f"{FREQUENCY}DAILY"
    return f"{FREQUENCY}WEEKLY" if sla <= timedelta(days=7) else f"{FREQUENCY}MONTHLY"


def read_gold(ds: Dataset, settings: Settings) -> tuple[pa.Table, datetime]:
    """The table (sorted by its natural key, so files are reproducible) and its last commit time."""
    table = delta_table_or_none(settings, ds.table_path)
    if table is None:
        raise UserFacingError(f"{ds.qualified_name} has no Delta table yet: run the pipeline before publishing it")
    data = table.to_pyarrow_table(columns=ds.column_names)
    data = data.sort_by([(k, "ascending") for k in ds.natural_key])
    modified = datetime.fromtimestamp(table.history(1)[0]["timestamp"] / 1000, tz=UTC)
    return data, modified


def to_csv(data: pa.Table) -> bytes:
    import pyarrow.csv as pacsv

    out = io.BytesIO()
    pacsv.write_csv(data, out)
    return out.getvalue()


def to_parquet(data: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(data, out, compression="zstd")
    return out.getvalue()


def latest_scores(ds: Dataset, settings: Settings) -> list[dict[str, Any]]:
    """The latest gate score per criterion of each silver table the gold table is built from."""
    scores = delta_table_or_none(settings, "quality/scores")
    if scores is None:
        return []
    silver = {d.name for d in _inputs_closure(ds) if d.layer == Layer.SILVER}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in scores.to_pyarrow_table().to_pylist():
        if row["dataset"] not in silver:
            continue
        k = (row["dataset"], row["criterion"])
        if k not in latest or row["data_interval_start"] > latest[k]["data_interval_start"]:
            latest[k] = row
    return [latest[k] for k in sorted(latest)]


def _temporal(ds: Dataset, data: pa.Table) -> dict[str, Any] | None:
    import pyarrow.compute as pc

    column = ds.replace_key or next((f.name for f in ds.fields if f.type == "DATE"), None)
    if column is None or data.num_rows == 0:
        return None
    bounds = pc.min_max(data[column]).as_py()
    return {
        "@type": "dct:PeriodOfTime",
        "dcat:startDate": _typed(bounds["min"].isoformat(), "date"),
        "dcat:endDate": _typed(bounds["max"].isoformat(), "date"),
    }


def _spatial(data: pa.Table) -> list[dict[str, Any]]:

    if "province_code" not in data.column_names:
        return []
    codes = sorted({c for c in data["province_code"].to_pylist() if c})
    return [
        {
            "@type": "dct:Location",
            "dct:identifier": code,
            "skos:prefLabel": {"@value": PROVINCES_2025.get(code, code), "@language": "vi"},
            "skos:note": {"@value": "Mã tỉnh 2025 (34 đơn vị) / 2025 province code (34 units)", "@language": "vi"},
        }
        for code in codes
    ]


def _description(ds: Dataset, lang: str) -> str:
    columns = "; ".join(f"{f.name}: {getattr(f, lang)}" + (f" ({f.unit})" if f.unit else "") for f in ds.fields)
    if lang == "vi":
        return f"{ds.title_vi}. Đơn vị chủ quản: {ds.owner.value}. Các cột: {columns}."
    return f"{ds.title_en}. Owner: {MINISTRY_EN.get(ds.owner, ds.owner.value)}. Columns: {columns}."


def dataset_metadata(
    ds: Dataset,
    data: pa.Table,
    modified: datetime,
    published: Published,
    scores: list[dict[str, Any]],
    base: str,
) -> dict[str, Any]:
    """One ``dcat:Dataset`` (DCAT-AP) in JSON-LD with its inline context."""
    iri = f"{base}/{ds.sector}/{ds.name}"
    owner = ds.owner
    node: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": iri,
        "@type": "dcat:Dataset",
        "dct:identifier": ds.qualified_name,
        "dct:title": _lang(ds.title_vi, ds.title_en),
        "dct:description": _lang(_description(ds, "vi"), _description(ds, "en")),
        "dct:publisher": {
            "@id": f"{base}/org/{owner.name.lower()}",
            "@type": "foaf:Organization",
            "foaf:name": _lang(owner.value, MINISTRY_EN.get(owner, owner.value)),
        },
        "dct:license": {"@id": LICENSE},
        "dct:accrualPeriodicity": {"@id": accrual_periodicity(ds)},
        "dct:modified": _typed(modified.isoformat(timespec="seconds"), "dateTime"),
        "dct:language": [{"@id": "http://publications.europa.eu/resource/authority/language/VIE"}],
        "dcat:keyword": [{"@value": ds.sector, "@language": "en"}],
        "dcat:distribution": [
            {
                "@id": f"{iri}#{fmt}",
                "@type": "dcat:Distribution",
                "dct:title": {"@value": f"{ds.name}.{fmt}", "@language": "en"},
                "dcat:downloadURL": {"@id": f"{base}/{published.keys[fmt]}"},
                "dcat:accessURL": {"@id": f"{base}/{published.keys[fmt]}"},
                "dcat:mediaType": {"@id": f"{MEDIA_TYPES}{FORMATS[fmt]}"},
                "dcat:byteSize": _typed(str(published.sizes[fmt]), "nonNegativeInteger"),
                "dct:license": {"@id": LICENSE},
            }
            for fmt in FORMATS
        ],
        "dqv:hasQualityMeasurement": [
            {
                "@type": "dqv:QualityMeasurement",
                "dqv:isMeasurementOf": {
                    "@id": f"{base}/quality/{CRITERION_EN[Criterion(s['criterion'])]}",
                    "@type": "dqv:Metric",
                    "skos:prefLabel": _lang(s["criterion"], CRITERION_EN[Criterion(s["criterion"])]),
                },
                "dqv:computedOn": {"@id": f"{base}/{ds.sector}/{s['dataset']}"},
                "dqv:value": _typed(f"{float(s['score']):g}", "double"),
                "prov:generatedAtTime": _typed(
                    s["data_interval_end"].replace(tzinfo=UTC).isoformat(timespec="seconds"), "dateTime"
                ),
            }
            for s in scores
        ],
    }
    temporal = _temporal(ds, data)
    if temporal:
        node["dct:temporal"] = temporal
    spatial = _spatial(data)
    if spatial:
        node["dct:spatial"] = spatial
    return node


def ensure_bucket(settings: Settings) -> None:
    """The open-data bucket exists (bootstrap creates it with public read; tests create their own)."""
    from botocore.exceptions import ClientError

    client = s3_client(settings)
    try:
        client.head_bucket(Bucket=settings.opendata_bucket)
        return
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    try:
        client.create_bucket(Bucket=settings.opendata_bucket)
    except ClientError as err:
        raise UserFacingError(
            f"the open-data bucket {settings.opendata_bucket} does not exist and this identity cannot create it "
            f"({err.response.get('Error', {}).get('Code')}): run `make store` (its bootstrap creates it with public "
            "read) or set LAKEHOUSE_OPENDATA_BUCKET to an existing bucket"
        ) from None


def _put(settings: Settings, key: str, body: bytes, content_type: str) -> None:

    s3_client(settings).put_object(Bucket=settings.opendata_bucket, Key=key, Body=body, ContentType=content_type)


def _json(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


def write_catalog(settings: Settings) -> dict[str, Any]:
    """``catalog.jsonld``: a ``dcat:Catalog`` over every ``dataset.jsonld`` in the bucket."""
    client = s3_client(settings)
    datasets = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.opendata_bucket):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/dataset.jsonld"):
                doc = json.loads(client.get_object(Bucket=settings.opendata_bucket, Key=obj["Key"])["Body"].read())
                doc.pop("@context", None)
                datasets.append(doc)
    base = base_url(settings)
    catalog = {
        "@context": CONTEXT,
        "@id": f"{base}/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": _lang("Dữ liệu mở quốc gia (kho dữ liệu hồ)", "Vietnam national open data (lakehouse)"),
        "dct:description": _lang(
            "Các bảng tổng hợp công khai, cập nhật hằng ngày, đã qua kiểm tra chất lượng (đúng, đủ, sạch, sống).",
            "Public aggregate tables, refreshed daily, quality-gated (correct, complete, clean, live).",
        ),
        "dct:license": {"@id": LICENSE},
        "dct:modified": _typed(datetime.now(UTC).date().isoformat(), "date"),
        "dcat:dataset": sorted(datasets, key=lambda d: str(d.get("@id"))),
    }
    _put(settings, "catalog.jsonld", _json(catalog), "application/ld+json")
    return catalog


def publish(names: list[str] | None = None, settings: Settings | None = None) -> list[Published]:
    """Write the chosen PUBLIC gold tables (default: all that the pipeline has built) and refresh the catalog.

    A table named explicitly must exist; by default a sector whose gold is not built yet is skipped.
    """
    settings = settings or get_settings()
    chosen = public_gold(names)
    if not names:
        chosen = [ds for ds in chosen if delta_table_or_none(settings, ds.table_path) is not None]
    ensure_bucket(settings)
    base = base_url(settings)
    out = []
    for ds in chosen:
        data, modified = read_gold(ds, settings)
        folder = f"{ds.sector}/{ds.name}"
        bodies = {"csv": to_csv(data), "parquet": to_parquet(data)}
        keys = {fmt: f"{folder}/{ds.name}.{fmt}" for fmt in FORMATS}
        for fmt, body in bodies.items():
            _put(settings, keys[fmt], body, FORMATS[fmt] + ("; charset=utf-8" if fmt == "csv" else ""))
        published = Published(ds.name, data.num_rows, keys, {fmt: len(b) for fmt, b in bodies.items()})
        meta = dataset_metadata(ds, data, modified, published, latest_scores(ds, settings), base)
        _put(settings, f"{folder}/dataset.jsonld", _json(meta), "application/ld+json")
        out.append(published)
    write_catalog(settings)
    return out
