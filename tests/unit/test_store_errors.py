"""How store failures reach the operator: whatever client reported them (boto3, S3A through py4j,
delta-rs), an outage past the retry budget and a full disk become errors that say what to do."""

from __future__ import annotations

import pytest

from jobs.errors import StoreFullError, StoreUnreachableError
from jobs.settings import Settings
from jobs.storage import store_errors

SETTINGS = Settings(s3_endpoint="http://127.0.0.1:9999", s3_retry_limit=4, s3_retry_interval_seconds=2.5)


def _raise_chained(outer: str, inner: str) -> None:
    try:
        raise OSError(inner)
    except OSError as err:
        raise RuntimeError(outer) from err


@pytest.mark.parametrize(
    "inner",
    [
        "java.net.ConnectException: Connection refused",
        "Could not connect to the endpoint URL: http://127.0.0.1:9999/lake",
        "Unable to execute HTTP request: Connect to 127.0.0.1:9999 failed",
    ],
)
def test_an_unreachable_store_says_to_bring_it_back_and_rerun(inner: str) -> None:
    with pytest.raises(StoreUnreachableError) as caught, store_errors(SETTINGS):
        _raise_chained("An error occurred while calling o123.execute", inner)
    message = str(caught.value)
    assert "http://127.0.0.1:9999 is unreachable" in message and "~10 s" in message
    assert "rerun the task" in message and "nothing of this step was committed" in message
    assert isinstance(caught.value.__cause__, RuntimeError)


@pytest.mark.parametrize(
    "inner",
    [
        "XMinioStorageFull: Storage backend has reached its minimum free drive threshold.",
        "InternalError ... cause(no space left on device)",
    ],
)
def test_a_full_store_says_to_free_space_and_rerun(inner: str) -> None:
    with pytest.raises(StoreFullError) as caught, store_errors(SETTINGS):
        _raise_chained("Job aborted", inner)
    assert "out of disk space" in str(caught.value) and "Free space on the store's disk" in str(caught.value)


def test_other_errors_pass_unchanged() -> None:
    with pytest.raises(ValueError, match="bad value"), store_errors(SETTINGS):
        raise ValueError("bad value")
