"""How store failures reach the operator: whatever client reported them (boto3, S3A through py4j,
delta-rs), an outage past the retry budget and a full disk become errors that say what to do."""

from __future__ import annotations

import pytest

from jobs.errors import StoreFullError, StoreUnreachableError
from jobs.settings import Settings
from jobs.storage import store_errors

SETTINGS = Settings(s3_endpoint="http://127.0.0.1:9999", s3_retry_budget_seconds=10)


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
    assert "http://127.0.0.1:9999 is unreachable" in message and "(10 s: LAKEHOUSE_S3_RETRY_BUDGET_SECONDS)" in message
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


def test_an_untrusted_certificate_is_not_taken_for_an_outage() -> None:
    """The SDK says "Unable to execute HTTP request" for a failed TLS handshake too: waiting would not help."""
    inner = "Unable to execute HTTP request: PKIX path building failed: unable to find valid certification path"
    with pytest.raises(RuntimeError, match="An error occurred") as caught, store_errors(SETTINGS):
        _raise_chained("An error occurred while calling o7.load", inner)
    assert not isinstance(caught.value, StoreUnreachableError)


class _Clock:
    """Monotonic time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    from jobs import storage

    fake = _Clock()
    monkeypatch.setattr(storage.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(storage.time, "sleep", fake.sleep)
    monkeypatch.setattr(storage, "get_settings", lambda: SETTINGS)
    return fake


def _step_failing(times: int, calls: list[float], clock: _Clock):  # type: ignore[no-untyped-def]
    from jobs.storage import store_step

    @store_step
    def publish(batch: str) -> str:
        calls.append(clock.now)
        if len(calls) <= times:
            _raise_chained("An error occurred while calling o9.execute", "java.net.ConnectException: refused")
        return f"published {batch}"

    return publish


def test_a_step_waits_for_the_store_and_reruns_within_the_budget(
    clock: _Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import storage

    back_at = clock.now + 7.5  # the store answers again 7.5 s after the call failed
    monkeypatch.setattr(storage, "store_answers", lambda settings: clock.now >= back_at)
    calls: list[float] = []
    assert _step_failing(1, calls, clock)("b1") == "published b1"
    assert calls == [1000.0, 1008.0]  # polled once a second: rerun at the first answer


def test_a_step_fails_clearly_once_the_outage_outlasts_the_budget(
    clock: _Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import storage

    monkeypatch.setattr(storage, "store_answers", lambda settings: False)
    calls: list[float] = []
    with pytest.raises(StoreUnreachableError, match="LAKEHOUSE_S3_RETRY_BUDGET_SECONDS"):
        _step_failing(5, calls, clock)("b1")
    assert calls == [1000.0] and clock.now == 1010.0  # given up exactly at the 10 s budget, never rerun


def test_a_store_that_keeps_going_away_fails_the_step(clock: _Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs import storage

    monkeypatch.setattr(storage, "store_answers", lambda settings: True)
    calls: list[float] = []
    with pytest.raises(StoreUnreachableError):
        _step_failing(10, calls, clock)("b1")
    assert len(calls) == storage.MAX_OUTAGES_PER_STEP


def test_a_full_store_fails_the_step_at_once(clock: _Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs import storage
    from jobs.storage import store_step

    monkeypatch.setattr(storage, "store_answers", lambda settings: True)
    calls: list[int] = []

    @store_step
    def publish() -> None:
        calls.append(1)
        _raise_chained("Job aborted", "XMinioStorageFull: Storage backend has reached its minimum free drive")

    with pytest.raises(StoreFullError):
        publish()
    assert calls == [1]
