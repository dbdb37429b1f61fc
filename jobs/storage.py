"""Plain-S3 object access (boto3): speaks to any S3-compatible store, MinIO by default.

Nothing here may depend on the store being MinIO: endpoint, keys, region, path style and the CA
its certificate is checked against come from settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from jobs.errors import StoreFullError, StoreUnreachableError
from jobs.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover
else:
    S3Client = Any


@lru_cache(maxsize=4)
def s3_client(settings: Settings | None = None) -> S3Client:
    """A boto3 S3 client configured from settings (cached per settings)."""
    settings = settings or get_settings()
    # a blip is retried here (exponential backoff, as S3A); a longer outage fails the call and the
    # pipeline step waits for the store (`store_step`)
    return _new_client(settings, attempts=settings.s3_retry_limit + 1, connect_timeout=5)


def _new_client(settings: Settings, *, attempts: int, connect_timeout: float, read_timeout: float = 60) -> S3Client:
    import boto3
    from botocore.config import Config

    settings.require_credentials()
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        verify=settings.s3_verify,  # an https store's certificate, checked against its CA
        config=Config(
            s3={"addressing_style": "path" if settings.s3_path_style else "virtual"},
            retries={"total_max_attempts": attempts, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
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


def get_or_none(key: str, settings: Settings | None = None) -> bytes | None:
    """An object's bytes, or None when it does not exist (one request, where HEAD then GET is two)."""
    from botocore.exceptions import ClientError

    settings = settings or get_settings()
    try:
        return s3_client(settings).get_object(Bucket=settings.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
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


def list_objects(prefix: str, settings: Settings | None = None) -> dict[str, datetime]:
    """The keys under ``prefix`` with the time the store last wrote each (its own clock, UTC)."""
    settings = settings or get_settings()
    paginator = s3_client(settings).get_paginator("list_objects_v2")
    objects: dict[str, datetime] = {}
    for page in paginator.paginate(Bucket=settings.bucket, Prefix=prefix):
        objects.update((obj["Key"], obj["LastModified"]) for obj in page.get("Contents", []))
    return objects


def list_keys(prefix: str, settings: Settings | None = None) -> list[str]:
    return list(list_objects(prefix, settings))


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


# What the store's failures look like through boto3, S3A (Java) and delta-rs (Rust): the message
# chain of the exception is matched, since each client wraps the cause in its own exception type.
_UNREACHABLE = (
    "connection refused",
    "connectexception",
    "could not connect to the endpoint",
    "endpointconnectionerror",
    "unable to execute http request",
    "connect timed out",
    "connection reset",
    "failed to connect",
)
_FULL = (
    "xminiostoragefull",
    "minimum free drive threshold",
    "insufficientstorage",
    "no space left",
)

P = ParamSpec("P")
R = TypeVar("R")


def _chain_text(err: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(parts).lower()


_UNTRUSTED = (
    "pkix path building failed",
    "certificate verify failed",
    "unable to find valid certification path",
    "invalidcertificate",
    "unknownissuer",
)


@contextmanager
def store_errors(settings: Settings | None = None) -> Iterator[None]:
    """Turn a store outage or a full store, however the client reports it, into an error that
    says what happened and what to do (the steps are idempotent: a rerun after the fix is exact)."""
    try:
        yield
    except (StoreFullError, StoreUnreachableError):
        raise
    except Exception as err:
        settings = settings or get_settings()
        text = _chain_text(err)
        if any(marker in text for marker in _FULL):
            raise StoreFullError(
                f"The object store at {settings.s3_endpoint} is out of disk space: nothing of this step was "
                "committed (readers see the previous version). Free space on the store's disk (or grow it), "
                "then rerun the task; the rerun writes the batch exactly once."
            ) from err
        if any(marker in text for marker in _UNTRUSTED):  # not an outage: waiting would not help
            raise
        if any(marker in text for marker in _UNREACHABLE):
            raise StoreUnreachableError(
                f"The object store at {settings.s3_endpoint} is unreachable and stayed so past the retry budget "
                f"({settings.s3_retry_budget_seconds:g} s: LAKEHOUSE_S3_RETRY_BUDGET_SECONDS): nothing of this "
                "step was committed. Bring the store back (`make store` locally) and rerun the task; the rerun "
                "writes the batch exactly once."
            ) from err
        raise


STORE_POLL_SECONDS = 1.0
MAX_OUTAGES_PER_STEP = 3
"""A store that keeps coming and going fails the step after this many outages (each within budget)."""


def store_answers(settings: Settings) -> bool:
    """Whether the store answers an S3 request now (one try, no retries): any S3 answer but a 5xx
    (MinIO says 503 while it starts) means it is back."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _new_client(settings, attempts=1, connect_timeout=2, read_timeout=5)
    try:
        client.head_bucket(Bucket=settings.bucket)
    except ClientError as err:
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return 0 < status < 500
    except BotoCoreError:
        return False
    return True


def wait_for_store(settings: Settings, deadline: float) -> bool:
    """Poll the store until it answers (True) or the monotonic ``deadline`` passes (False)."""
    while True:
        if store_answers(settings):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(STORE_POLL_SECONDS, left))


def store_step(step: Callable[P, R]) -> Callable[P, R]:
    """A pipeline step against the store: an outage is ridden out, a failure says what to do.

    When a call fails because the store is unreachable (after the clients' own quick retries), the
    step waits for the store to answer again and reruns: every step is idempotent, so a rerun after a
    failed attempt writes its batch exactly once. If the store is still unreachable
    ``LAKEHOUSE_S3_RETRY_BUDGET_SECONDS`` after the call failed (or went away more than
    ``MAX_OUTAGES_PER_STEP`` times), the step fails with :class:`StoreUnreachableError`; a full store
    fails it at once with :class:`StoreFullError` (waiting does not free space).
    """

    @wraps(step)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        settings = get_settings()
        for outage in range(1, MAX_OUTAGES_PER_STEP + 1):
            try:
                with store_errors(settings):
                    return step(*args, **kwargs)
            except StoreUnreachableError:
                failed_at = time.monotonic()
                if outage == MAX_OUTAGES_PER_STEP or not wait_for_store(
                    settings, failed_at + settings.s3_retry_budget_seconds
                ):
                    raise
                print(
                    f"{step.__name__}: the object store answers again after {time.monotonic() - failed_at:.0f} s "
                    f"(outage {outage} of at most {MAX_OUTAGES_PER_STEP - 1} ridden out); rerunning the step",
                    flush=True,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper
