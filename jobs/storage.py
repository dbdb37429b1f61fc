"""Plain-S3 object access (boto3): speaks to any S3-compatible store, MinIO by default.

Nothing here may depend on the store being MinIO: endpoint, keys, region and path style come
from settings.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jobs.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover
else:
    S3Client = Any


@lru_cache(maxsize=4)
def s3_client(settings: Settings | None = None) -> S3Client:
    """A boto3 S3 client configured from settings (cached per settings)."""
    import boto3
    from botocore.config import Config

    settings = settings or get_settings()
    settings.require_credentials()
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(
            s3={"addressing_style": "path" if settings.s3_path_style else "virtual"},
            retries={"max_attempts": 5, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def head(key: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """Object metadata, or None when the object does not exist."""
    from botocore.exceptions import ClientError

    settings = settings or get_settings()
    try:
        return dict(s3_client(settings).head_object(Bucket=settings.bucket, Key=key))
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


def put_if_absent(key: str, body: bytes, metadata: dict[str, str], settings: Settings | None = None) -> bool:
    """Write an object only if no object has that key (conditional PUT, If-None-Match: *).

    Returns False when the key already existed: landing is never overwritten.
    """
    from botocore.exceptions import ClientError

    settings = settings or get_settings()
    try:
        s3_client(settings).put_object(Bucket=settings.bucket, Key=key, Body=body, Metadata=metadata, IfNoneMatch="*")
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
            return False
        raise
    return True


def list_keys(prefix: str, settings: Settings | None = None) -> list[str]:
    settings = settings or get_settings()
    paginator = s3_client(settings).get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=settings.bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def delete_prefix(prefix: str, settings: Settings | None = None) -> int:
    """Delete every object under ``prefix`` (1,000 per request); returns how many were deleted."""
    settings = settings or get_settings()
    keys = list_keys(prefix, settings)
    client = s3_client(settings)
    for i in range(0, len(keys), 1000):
        chunk = [{"Key": k} for k in keys[i : i + 1000]]
        client.delete_objects(Bucket=settings.bucket, Delete={"Objects": chunk, "Quiet": True})
    return len(keys)


def delta_table_or_none(settings: Settings, key: str) -> Any | None:
    """The delta-rs table at ``key`` in the lake bucket, or None when it was never written.

    For readers that show what exists (CLI, report, publication) without a JVM.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(settings.s3_uri(key), storage_options=settings.delta_rs_storage_options())
    except TableNotFoundError:
        return None
