"""Leases (``jobs.lease``) against the real store: the store's conditional PUT is what serializes writers.

First the store itself: MinIO must refuse ``If-None-Match: *`` over an existing object and ``If-Match``
with a stale ETag (otherwise no lease is safe). Then the lease: exclusive, released, waited for with
a clear error naming the holder, taken over after expiry by exactly one of several takers, renewed
while long work runs, and acquired in one order by writers that need several.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lakehouse_fixtures import lake_bucket


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[str]:
    with lake_bucket("lease", tmp_path / "sources", tmp_path / "gx") as name:
        yield name


def _client():  # type: ignore[no-untyped-def]
    from jobs.settings import get_settings
    from jobs.storage import s3_client

    return s3_client(get_settings()), get_settings().bucket


def test_the_store_honours_conditional_put(bucket: str) -> None:
    from botocore.exceptions import ClientError

    client, name = _client()
    first = client.put_object(Bucket=name, Key="probe", Body=b"1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=name, Key="probe", Body=b"2", IfNoneMatch="*")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    second = client.put_object(Bucket=name, Key="probe", Body=b"2", IfMatch=first)["ETag"]
    with pytest.raises(ClientError) as stale:
        client.put_object(Bucket=name, Key="probe", Body=b"3", IfMatch=first)
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert client.get_object(Bucket=name, Key="probe")["Body"].read() == b"2"
    assert second != first


def test_hold_is_exclusive_and_released(bucket: str) -> None:
    from jobs.lease import LeaseBusyError, current, hold, lease_key

    with hold("dataset/a", holder="first"):
        seen = current("dataset/a")
        assert seen is not None and seen["holder"] == "first" and not seen["free"] and seen["pid"] == os.getpid()
        # another process cannot take it: it waits, then names the holder and what to do
        code, message = _in_child(_try_hold, "dataset/a", "second", 1.0)
        assert code == "busy"
        assert "first" in message and "dataset/a" in message and "LAKEHOUSE_LEASE_SECONDS" in message
    seen = current("dataset/a")
    assert seen is not None and seen["released"] and seen["free"]
    assert _in_child(_try_hold, "dataset/a", "second", 1.0) == ("held", "")
    client, name = _client()
    body = json.loads(client.get_object(Bucket=name, Key=lease_key("dataset/a"))["Body"].read())
    assert body["holder"] == "second" and body["released"] is True
    # refused in-process too when another process holds it
    with _held_elsewhere("dataset/b"), pytest.raises(LeaseBusyError), hold("dataset/b", holder="me", wait_seconds=0.5):
        pass


def test_waiter_proceeds_when_the_holder_releases(bucket: str) -> None:
    from jobs.lease import hold

    log = Path(os.environ["LAKEHOUSE_GX_ROOT"]).parent / "order.log"
    ctx = mp.get_context("spawn")
    with hold("dataset/w", holder="first"):
        child = ctx.Process(target=_hold_and_log, args=(dict(os.environ), "dataset/w", str(log), "second", 0.0, 30.0))
        child.start()
        time.sleep(1.5)
        with log.open("a") as fh:
            fh.write("first-done\n")
    child.join(30)
    assert child.exitcode == 0
    assert log.read_text().split() == ["first-done", "second-start", "second-done"]


def test_an_expired_lease_is_taken_over_by_exactly_one(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs.lease import current, lease_key

    monkeypatch.setenv("LAKEHOUSE_LEASE_SECONDS", "2")
    from tests.lakehouse_fixtures import _reset_caches

    _reset_caches()
    client, name = _client()
    stale = {
        "resource": "dataset/x",
        "holder": "killed writer",
        "host": "gone",
        "pid": 1,
        "acquired_at": "2026-01-01T00:00:00+00:00",
        "expires_at": "2026-01-01T00:00:02+00:00",
        "seconds": 2,
        "released": False,
    }
    client.put_object(Bucket=name, Key=lease_key("dataset/x"), Body=json.dumps(stale).encode())
    assert current("dataset/x")["free"] is False  # type: ignore[index]
    time.sleep(3)  # the store's clock: Last-Modified + 2 s has passed
    log = Path(os.environ["LAKEHOUSE_GX_ROOT"]).parent / "takers.log"
    ctx = mp.get_context("spawn")
    env = dict(os.environ)
    takers = [
        ctx.Process(target=_hold_and_log, args=(env, "dataset/x", str(log), f"taker{i}", 1.0, 30.0)) for i in range(3)
    ]
    for t in takers:
        t.start()
    for t in takers:
        t.join(60)
    assert [t.exitcode for t in takers] == [0, 0, 0]
    events = log.read_text().split()
    # each taker's hold is a closed interval in the log: never two open at once
    open_now = 0
    for e in events:
        open_now += 1 if e.endswith("-start") else -1
        assert 0 <= open_now <= 1, events
    assert sorted(e for e in events if e.endswith("-start")) == ["taker0-start", "taker1-start", "taker2-start"]


def test_a_dead_holder_on_this_host_is_taken_over_at_once(bucket: str) -> None:
    """A writer killed on this host (SIGKILL: no release) does not make the retry wait for the expiry."""
    import signal
    import subprocess
    import sys

    from jobs.lease import current, hold

    code = (
        "import time; from jobs.lease import hold\n"
        "with hold('dataset/k', holder='doomed'):\n    print('held', flush=True); time.sleep(120)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    seen = current("dataset/k")
    assert seen is not None and seen["pid"] == child.pid and not seen["released"]
    started = time.monotonic()
    with hold("dataset/k", holder="retry", wait_seconds=5):
        took = time.monotonic() - started
    assert took < 2.0  # the lease runs 120 s by default: it was not waited for


def test_a_lease_this_process_could_not_release_is_not_waited_for(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store went down as a step let go of its lease (the release PUT failed): the step's rerun in the
    same process takes that lease back at once; another process still waits for it."""
    from botocore.exceptions import EndpointConnectionError

    from jobs import lease
    from jobs.lease import current, hold

    real_put = lease._put

    def store_down_on_release(resource: str, held: lease.Lease, settings: object, *, if_match: str | None) -> None:
        if held.released:
            raise EndpointConnectionError(endpoint_url="https://127.0.0.1:1")
        return real_put(resource, held, settings, if_match=if_match)  # type: ignore[arg-type]

    monkeypatch.setattr(lease, "_put", store_down_on_release)
    with pytest.raises(EndpointConnectionError), hold("dataset/r", holder="step"):
        pass
    monkeypatch.setattr(lease, "_put", real_put)
    seen = current("dataset/r")
    assert seen is not None and not seen["released"] and seen["pid"] == os.getpid()
    assert _in_child(_try_hold, "dataset/r", "other", 0.5)[0] == "busy"  # for others it is still held
    started = time.monotonic()
    with hold("dataset/r", holder="step rerun", wait_seconds=5):
        took = time.monotonic() - started
        assert current("dataset/r")["holder"] == "step rerun"  # type: ignore[index]
    assert took < 2.0  # not the 120 s expiry
    assert current("dataset/r")["released"]  # type: ignore[index]


def test_renewal_keeps_a_long_holder(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs.lease import current, hold

    monkeypatch.setenv("LAKEHOUSE_LEASE_SECONDS", "1.5")
    from tests.lakehouse_fixtures import _reset_caches

    _reset_caches()
    with hold("dataset/long", holder="long"):
        time.sleep(4)  # well past 1.5 s: only renewals keep it
        assert current("dataset/long")["free"] is False  # type: ignore[index]
        assert _in_child(_try_hold, "dataset/long", "intruder", 0.5)[0] == "busy"


def test_several_leases_are_taken_in_one_order(bucket: str) -> None:
    """Two writers needing the same two leases, asked in opposite orders, do not deadlock."""
    log = Path(os.environ["LAKEHOUSE_GX_ROOT"]).parent / "pair.log"
    ctx = mp.get_context("spawn")
    env = dict(os.environ)
    a = ctx.Process(target=_hold_pair_and_log, args=(env, ["quality", "dataset/p"], str(log), "a"))
    b = ctx.Process(target=_hold_pair_and_log, args=(env, ["dataset/p", "quality"], str(log), "b"))
    a.start()
    b.start()
    a.join(60)
    b.join(60)
    assert (a.exitcode, b.exitcode) == (0, 0)
    events = log.read_text().split()
    assert events in (["a-start", "a-done", "b-start", "b-done"], ["b-start", "b-done", "a-start", "a-done"])


# --- helpers run in child processes (spawned: a fresh interpreter each, like a second writer) ---------


def _in_child(fn, *args):  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, (dict(os.environ), *args))


def _env(env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)
    from tests.lakehouse_fixtures import _reset_caches

    _reset_caches()


def _try_hold(env: dict[str, str], resource: str, holder: str, wait: float) -> tuple[str, str]:
    _env(env)
    from jobs.lease import LeaseBusyError, hold

    try:
        with hold(resource, holder=holder, wait_seconds=wait):
            return ("held", "")
    except LeaseBusyError as err:
        return ("busy", str(err))


def _hold_and_log(env: dict[str, str], resource: str, log: str, name: str, work: float, wait: float) -> None:
    _env(env)
    from jobs.lease import hold

    with hold(resource, holder=name, wait_seconds=wait):
        with open(log, "a") as fh:
            fh.write(f"{name}-start\n")
        time.sleep(work)
        with open(log, "a") as fh:
            fh.write(f"{name}-done\n")


def _hold_pair_and_log(env: dict[str, str], resources: list[str], log: str, name: str) -> None:
    _env(env)
    from jobs.lease import hold

    with hold(*resources, holder=name, wait_seconds=30):
        with open(log, "a") as fh:
            fh.write(f"{name}-start\n")
        time.sleep(1.0)
        with open(log, "a") as fh:
            fh.write(f"{name}-done\n")


class _held_elsewhere:
    """A lease held by a child process for the duration of the ``with`` block."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.ready = ctx.Event()
        self.proc = ctx.Process(target=_hold_until, args=(dict(os.environ), resource, self.ready, self.stop))

    def __enter__(self) -> None:
        self.proc.start()
        assert self.ready.wait(60)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.proc.join(30)


def _hold_until(env: dict[str, str], resource: str, ready, stop) -> None:  # type: ignore[no-untyped-def]
    _env(env)
    from jobs.lease import hold

    with hold(resource, holder="elsewhere"):
        ready.set()
        stop.wait(60)
