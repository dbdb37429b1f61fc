"""Leases on the object store: one writer per Delta table, whoever the writer is.

Delta-Spark has no conditional-write log store for S3, so two Spark drivers committing to one table
can lose a commit. Airflow's pools keep DAG tasks apart, but ``lakehouse quarantine release``,
``lakehouse batch release|discard`` and ``lakehouse erase`` write the same tables from outside
Airflow. Every such writer holds a lease first: an object ``_locks/<resource>.json`` in the lake
bucket, written only by conditional PUTs, which the store serializes for us:

- acquire: ``PUT If-None-Match: *`` (no lease yet), or ``PUT If-Match: <etag>`` over a lease that was
  released or has expired, so of two takers exactly one wins;
- renew (a background thread, every third of the lease time) and release: ``PUT If-Match: <etag>``.
  Release writes a ``released`` lease rather than deleting it: the store ignores ``If-Match`` on
  DELETE, so an unconditional delete could remove a lease someone else took over.

Expiry is judged on the store's clock (the lease object's ``Last-Modified`` against the ``Date`` of
the response that read it), so holders and takers on different hosts need no synchronized clocks. A
holder killed without releasing blocks the resource for at most the lease time (``LAKEHOUSE_LEASE_SECONDS``);
on its own host (``LAKEHOUSE_LEASE_HOST``) a lease whose process is gone is taken over at once, so a
retry after a crash does not wait.

Resources: ``dataset/<name>`` covers every table of one dataset (bronze, staged, silver, quarantine,
restricted); ``quality`` covers the shared ``quality/`` tables that CLI commands append to with Spark
(releases, erasure audit). A writer takes all it needs at once, in sorted order, so two writers
never wait on each other in a cycle.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from jobs import storage
from jobs.errors import UserFacingError
from jobs.settings import Settings, get_settings

LOCK_PREFIX = "_locks/"
QUALITY = "quality"
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class LeaseBusyError(UserFacingError):
    """Another writer held the resource for longer than we may wait; the message names it."""

    exit_code = 4


class LeaseLostError(RuntimeError):
    """Our lease was taken over (we did not renew it in time): the work may have overlapped another writer."""


def dataset_resource(name: str) -> str:
    """The lease that covers every table of one dataset."""
    return f"dataset/{name}"


def lease_key(resource: str) -> str:
    return f"{LOCK_PREFIX}{resource}.json"


@dataclass(frozen=True)
class Lease:
    """What a lease object says (its body)."""

    resource: str
    holder: str
    host: str
    pid: int
    acquired_at: str
    expires_at: str
    seconds: float
    released: bool = False

    def describe(self) -> str:
        return f"{self.holder} on {self.host} (pid {self.pid}), since {self.acquired_at}"


@dataclass(frozen=True)
class _Seen:
    lease: Lease | None
    etag: str | None
    free: bool
    expires: datetime | None  # on the store's clock


def _code(err: Exception) -> str:
    response = getattr(err, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _gone(lease: Lease, settings: Settings) -> bool:
    """The lease's process is known to be dead: it was taken on this host and no process has its pid."""
    if lease.host != settings.lease_host or lease.pid == os.getpid():
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _read(resource: str, settings: Settings) -> _Seen:
    """The lease as it is now, and whether it is free: absent, released, expired on the store's clock, or
    held by a process of this host that no longer exists (killed: no need to wait for the expiry)."""
    from botocore.exceptions import ClientError

    try:
        got = storage.s3_client(settings).get_object(Bucket=settings.bucket, Key=lease_key(resource))
    except ClientError as err:
        if _code(err) in {"404", "NoSuchKey", "NotFound"}:
            return _Seen(None, None, True, None)
        raise
    body = got["Body"].read()
    server_now = parsedate_to_datetime(got["ResponseMetadata"]["HTTPHeaders"]["date"])
    try:
        lease = Lease(**json.loads(body))
    except (ValueError, TypeError):  # not ours or truncated: treat as expired, take it over conditionally
        return _Seen(None, got["ETag"], True, None)
    expires = got["LastModified"] + timedelta(seconds=lease.seconds)
    unreleased = _UNRELEASED.get(resource) == got["ETag"]
    free = lease.released or server_now >= expires or _gone(lease, settings) or unreleased
    return _Seen(lease, got["ETag"], free, expires)


def _put(resource: str, lease: Lease, settings: Settings, *, if_match: str | None) -> str | None:
    """Write the lease conditionally; its new ETag, or None when the condition failed (someone else won)."""
    from botocore.exceptions import ClientError

    condition = {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}
    try:
        out = storage.s3_client(settings).put_object(
            Bucket=settings.bucket,
            Key=lease_key(resource),
            Body=json.dumps(asdict(lease)).encode(),
            ContentType="application/json",
            **condition,  # type: ignore[arg-type]
        )
    except ClientError as err:
        if _code(err) in _PRECONDITION:
            return None
        raise
    return str(out["ETag"])


class _Held:
    """One lease this process holds, renewed by a daemon thread until released."""

    def __init__(self, resource: str, holder: str, etag: str, lease: Lease, settings: Settings) -> None:
        self.resource, self.holder, self.etag, self.lease, self.settings = resource, holder, etag, lease, settings
        self.lost: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._renew_loop, name=f"lease-{resource}", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        interval = max(self.lease.seconds / 3, 0.2)
        while not self._stop.wait(interval):
            with self._lock:
                if self.lost or self._stop.is_set():
                    return
                now = datetime.now(UTC)
                lease = Lease(
                    **{
                        **asdict(self.lease),
                        "expires_at": (now + timedelta(seconds=self.lease.seconds)).isoformat(timespec="seconds"),
                    }
                )
                try:
                    etag = _put(self.resource, lease, self.settings, if_match=self.etag)
                except Exception as err:  # store briefly unreachable: try again at the next tick
                    print(f"lease {self.resource}: renewal failed ({type(err).__name__}); retrying")
                    continue
                if etag is None:
                    self.lost = f"the lease on {self.resource} was taken over before {self.holder} renewed it"
                    return
                self.etag, self.lease = etag, lease

    def release(self) -> None:
        self._stop.set()
        with self._lock:
            if self.lost:
                return
            done = Lease(**{**asdict(self.lease), "released": True, "expires_at": _now_iso()})
            if _put(self.resource, done, self.settings, if_match=self.etag) is None:
                self.lost = f"the lease on {self.resource} was taken over before {self.holder} released it"


_HELD: dict[str, _Held] = {}  # resource → lease held by this process (holds nest: an inner hold is free)
_HELD_GUARD = threading.Lock()
_UNRELEASED: dict[str, str] = {}
"""resource → ETag of a lease this process let go of but could not mark released (the store was down):
still that object, it is ours and free, so a step rerun in this process does not wait for its expiry."""


def _acquire(resource: str, holder: str, settings: Settings, wait_seconds: float) -> _Held:
    seconds = settings.lease_seconds
    deadline = time.monotonic() + wait_seconds
    pause = 0.2
    while True:
        seen = _read(resource, settings)
        if seen.free:
            now = datetime.now(UTC)
            lease = Lease(
                resource=resource,
                holder=holder,
                host=settings.lease_host,
                pid=os.getpid(),
                acquired_at=now.isoformat(timespec="seconds"),
                expires_at=(now + timedelta(seconds=seconds)).isoformat(timespec="seconds"),
                seconds=seconds,
            )
            etag = _put(resource, lease, settings, if_match=seen.etag)
            if etag is not None:
                if seen.lease is not None and not seen.lease.released:
                    print(f"lease {resource}: took over the lease of {seen.lease.describe()} (expired or process gone)")
                return _Held(resource, holder, etag, lease, settings)
            continue  # another taker won between our read and our write: read again
        assert seen.lease is not None and seen.expires is not None
        if time.monotonic() >= deadline:
            raise LeaseBusyError(
                f"{resource} is being written by {seen.lease.describe()}; its lease runs until "
                f"{seen.expires:%Y-%m-%d %H:%M:%S} UTC unless renewed. Waited {wait_seconds:g} s. Run this again "
                "when that writer has finished (a DAG task: see it in Airflow; a command: let it finish). If that "
                "process is gone, its lease expires by itself within LAKEHOUSE_LEASE_SECONDS "
                f"({seen.lease.seconds:g} s); to wait longer set LAKEHOUSE_LEASE_WAIT_SECONDS."
            )
        time.sleep(min(pause, max(deadline - time.monotonic(), 0.05)))
        pause = min(pause * 1.5, 2.0)


@contextmanager
def hold(
    *resources: str, holder: str, settings: Settings | None = None, wait_seconds: float | None = None
) -> Iterator[None]:
    """Hold the leases on ``resources`` (sorted, so every writer takes them in one order) while the block runs.

    Waits up to ``wait_seconds`` (default ``LAKEHOUSE_LEASE_WAIT_SECONDS``) for each, then raises
    :class:`LeaseBusyError` naming the holder. Leases this process already holds are not taken again.
    Raises :class:`LeaseLostError` after the block if a lease was taken over meanwhile (renewal failed
    for longer than the lease time), so the caller reruns an idempotent step rather than trusting it.
    """
    settings = settings or get_settings()
    wait = settings.lease_wait_seconds if wait_seconds is None else wait_seconds
    taken: list[_Held] = []
    with ExitStack() as stack:
        for resource in sorted(set(resources)):
            with _HELD_GUARD:
                if resource in _HELD:
                    continue
            held = _acquire(resource, holder, settings, wait)
            with _HELD_GUARD:
                _HELD[resource] = held
            taken.append(held)
            stack.callback(_let_go, held)
        yield
    lost = [h.lost for h in taken if h.lost]
    if lost:
        raise LeaseLostError(
            "; ".join(lost) + ": another writer may have overlapped; rerun the step (it is idempotent)"
        )


def _let_go(held: _Held) -> None:
    with _HELD_GUARD:
        _HELD.pop(held.resource, None)
    try:
        held.release()
    except Exception:
        _UNRELEASED[held.resource] = held.etag
        raise
    _UNRELEASED.pop(held.resource, None)


def current(resource: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """The lease on ``resource`` as stored (None if never taken), with ``free``: for operators and tests."""
    seen = _read(resource, settings or get_settings())
    if seen.lease is None:
        return None
    return {**asdict(seen.lease), "free": seen.free, "etag": seen.etag}
