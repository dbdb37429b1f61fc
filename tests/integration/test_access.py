"""Access by ministry, enforced by the store: each ministry's own identity against a test bucket.

Tiny Delta tables are written with the pipeline's identity (delta-rs) at the registry's keys, the
ministry identities are provisioned for the test bucket exactly as ``make store`` does for the
real one, and then each ministry reads (or is refused) through plain boto3, delta-rs and the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from jobs.access import explain_denied
from jobs.registry import Ministry
from jobs.settings import Settings
from tests.lakehouse_fixtures import lake_bucket, ministry_identities

pytestmark = pytest.mark.integration

# The deployment's real buckets, read before the test bucket replaces LAKEHOUSE_BUCKET (only looked at).
REAL = Settings()

INTERNAL = "silver/environment/wastewater_reading"  # INTERNAL to mae, granted to moh
PUBLIC = "gold/environment/aqi_daily"
QUARANTINE = "quarantine/environment/wastewater_reading"
QUALITY = "quality/scores"
BRONZE = "bronze/environment/wastewater_reading"
RAW_OBJECTS = {
    "landing/environment/wastewater/ingest_date=2026-11-26/b1.csv": b"facility_id,value\nF1,12.5\n",
    "restricted/environment/wastewater_facility_owner/part-0.csv": b"facility_id,owner_cccd\nF1,001099012345\n",
    "audit/2026-11-26/reads.jsonl": b'{"user": "ministry-moc"}\n',
    "staging/environment/air_quality_reading/b1/silver/part-0.csv": b"station_id,value\nAQ1,-5\n",
}
ROWS = {
    INTERNAL: {
        "station_id": ["WW01", "WW01", "WW02"],
        "parameter": ["COD", "TSS", "COD"],
        "value": [41.5, 12.0, 88.25],
    },
    PUBLIC: {"station_id": ["HN01", "DN02"], "aqi": [57, 121]},
    QUARANTINE: {"raw_line": ["WW03,COD,-1"], "reason_code": ["NEGATIVE_VALUE"]},
    QUALITY: {"dataset": ["wastewater_reading"], "criterion": ["đúng"], "score": [99.5]},
    BRONZE: {"raw_line": ["WW01,COD,41.5"]},
}


@dataclass
class Lake:
    writer: Settings
    ministries: dict[str, Settings]  # by code, each with the ministry's own keys
    suffix: str


def _options(settings: Settings) -> dict[str, str]:
    return {**settings.delta_rs_storage_options(), "conditional_put": "etag"}


def _client(settings: Settings) -> Any:
    from jobs.storage import s3_client

    return s3_client(settings)


def _error_code(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return str(err.value.response["Error"]["Code"])


def _delta_rows(settings: Settings, key: str) -> dict[str, list[Any]]:
    from deltalake import DeltaTable

    table = DeltaTable(settings.s3_uri(key), storage_options=settings.delta_rs_storage_options())
    return table.to_pyarrow_table().sort_by([(table.schema().fields[0].name, "ascending")]).to_pydict()


def _one_file(writer: Settings, key: str) -> str:
    listed = _client(writer).list_objects_v2(Bucket=writer.bucket, Prefix=f"{key}/")
    return next(o["Key"] for o in listed["Contents"] if o["Key"].endswith(".parquet"))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    from deltalake import write_deltalake

    from jobs.settings import get_settings

    tmp = tmp_path_factory.mktemp("access")
    with lake_bucket("access", tmp / "sources", tmp / "gx") as bucket:
        writer = get_settings()
        for key, columns in ROWS.items():
            write_deltalake(writer.s3_uri(key), pa.table(columns), storage_options=_options(writer))
        for key, body in RAW_OBJECTS.items():
            _client(writer).put_object(Bucket=bucket, Key=key, Body=body)
        with ministry_identities(bucket) as ministries:
            suffix = ministries["moc"].s3_access_key.removeprefix("ministry-moc")
            yield Lake(writer, ministries, suffix)
    from infra.store.bootstrap import admin_client

    admin = admin_client(writer, os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"])
    users = admin.user_list()
    assert f"ministry-moc{suffix}" not in users  # cleaned up


def test_identities_are_the_ministries_own(lake: Lake) -> None:
    assert {code: s.s3_access_key for code, s in lake.ministries.items()} == {
        m.code: f"ministry-{m.code}{lake.suffix}" for m in Ministry
    }


def test_ungranted_ministry_is_refused_by_the_store(lake: Lake) -> None:
    moc = lake.ministries["moc"]
    client = _client(moc)
    parquet = _one_file(lake.writer, INTERNAL)
    assert _error_code(lambda: client.get_object(Bucket=moc.bucket, Key=parquet)) == "AccessDenied"
    log = f"{INTERNAL}/_delta_log/00000000000000000000.json"
    assert _error_code(lambda: client.get_object(Bucket=moc.bucket, Key=log)) == "AccessDenied"
    for prefix in (f"{INTERNAL}/", f"{INTERNAL}/_delta_log/", INTERNAL, "silver/", ""):
        assert _error_code(lambda p=prefix: client.list_objects_v2(Bucket=moc.bucket, Prefix=p)) == "AccessDenied"
    # Nor may it write anything, even where it reads.
    assert _error_code(lambda: client.put_object(Bucket=moc.bucket, Key=f"{PUBLIC}/x.parquet", Body=b"x")) == (
        "AccessDenied"
    )


def test_ungranted_ministry_cannot_open_the_delta_table(lake: Lake) -> None:
    from deltalake import DeltaTable

    moc = lake.ministries["moc"]
    with pytest.raises(OSError, match="lacked the necessary privileges"):
        DeltaTable(moc.s3_uri(INTERNAL), storage_options=moc.delta_rs_storage_options())


@pytest.mark.parametrize("code", ["mae", "moc", "mps", "mof", "moh"])
def test_every_ministry_reads_public_gold_and_quality(lake: Lake, code: str) -> None:
    settings = lake.ministries[code]
    assert _delta_rows(settings, PUBLIC) == {"station_id": ["DN02", "HN01"], "aqi": [121, 57]}
    assert _delta_rows(settings, QUALITY) == {"dataset": ["wastewater_reading"], "criterion": ["đúng"], "score": [99.5]}


@pytest.mark.parametrize("code", ["mae", "moh"])
def test_owner_and_granted_ministry_read_the_internal_table(lake: Lake, code: str) -> None:
    assert _delta_rows(lake.ministries[code], INTERNAL) == {
        "station_id": ["WW01", "WW01", "WW02"],
        "parameter": ["COD", "TSS", "COD"],
        "value": [41.5, 12.0, 88.25],
    }


def test_only_the_owner_reads_quarantine(lake: Lake) -> None:
    assert _delta_rows(lake.ministries["mae"], QUARANTINE) == {
        "raw_line": ["WW03,COD,-1"],
        "reason_code": ["NEGATIVE_VALUE"],
    }
    moh = lake.ministries["moh"]  # granted the table, not its rejected raw lines
    parquet = _one_file(lake.writer, QUARANTINE)
    assert _error_code(lambda: _client(moh).get_object(Bucket=moh.bucket, Key=parquet)) == "AccessDenied"


@pytest.mark.parametrize("code", ["mae", "moc", "mps", "mof", "moh"])
def test_no_ministry_reads_landing_bronze_restricted_or_audit(lake: Lake, code: str) -> None:
    settings = lake.ministries[code]
    client = _client(settings)
    keys = [*RAW_OBJECTS, _one_file(lake.writer, BRONZE)]
    for key in keys:
        assert _error_code(lambda k=key: client.get_object(Bucket=settings.bucket, Key=k)) == "AccessDenied", key
        top = key.split("/")[0] + "/"
        assert _error_code(lambda t=top: client.list_objects_v2(Bucket=settings.bucket, Prefix=t)) == "AccessDenied"
    # The pipeline identity wrote them and still reads them.
    for key in keys:
        assert _client(lake.writer).get_object(Bucket=lake.writer.bucket, Key=key)["ContentLength"] > 0


def test_open_data_bucket_is_public_read() -> None:
    """`make store` made the open-data bucket anonymously readable (bootstrap's bucket policy)."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    settings = REAL
    anonymous = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=settings.s3_region,
        verify=settings.s3_verify,
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    )
    assert anonymous.list_objects_v2(Bucket=settings.opendata_bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _error_code(lambda: anonymous.list_objects_v2(Bucket=settings.bucket)) == "AccessDenied"


def test_cli_query_as_ungranted_ministry_is_denied_with_the_reason(
    lake: Lake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jobs.cli import main

    moc = lake.ministries["moc"]
    monkeypatch.setenv("LAKEHOUSE_MINISTRY_MOC_ACCESS_KEY", moc.s3_access_key)
    monkeypatch.setenv("LAKEHOUSE_MINISTRY_MOC_SECRET_KEY", moc.s3_secret_key)
    code = main(["query", "--ministry", "moc", "SELECT count(*) AS n FROM silver.environment_wastewater_reading"])
    err = capsys.readouterr().err
    assert code == 3
    assert explain_denied("silver.environment_wastewater_reading", Ministry.CONSTRUCTION) in err
    # The same identity reads the public table through the same command.
    assert main(["query", "--ministry", "moc", "SELECT sum(aqi) AS total FROM gold.environment_aqi_daily"]) == 0
    assert "178" in capsys.readouterr().out


def test_a_table_one_caller_opened_is_not_read_with_another_callers_rights(lake: Lake) -> None:
    """The query engine keeps tables open between queries, per caller: the pipeline's identity opens
    the internal wastewater silver table, then a ministry without a grant asks for it and is refused."""
    from jobs.errors import UserFacingError
    from jobs.query import run_query

    sql = "SELECT count(*) AS n FROM silver.environment_wastewater_reading"
    assert run_query(sql, settings=lake.writer).to_pylist() == [{"n": 3}]
    with pytest.raises(UserFacingError) as err:
        run_query(sql, settings=lake.ministries["moc"], ministry=Ministry.CONSTRUCTION)
    assert explain_denied("silver.environment_wastewater_reading", Ministry.CONSTRUCTION) in str(err.value)
