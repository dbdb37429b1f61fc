"""Two writers on one table at once (issue 13, scenario 3): serialized by a lease the store enforces.

Real processes on the real store, Spark and Delta: (a) ``lakehouse quarantine release`` (its own
process and JVM) while the pipeline's silver, gate and publish steps rerun the same batch; (b) two or
more ``lakehouse erase`` at once; (c) a release killed with SIGKILL while it holds the lease, after
which the pipeline's next writer proceeds once the lease expired. The books are counted here, from the
fixture file's own lines and the tables read with delta-rs: every source line is exactly once in
silver or open in quarantine, and every commit each writer reported is in the table's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.interval import DataInterval
from tests.chaos import faults
from tests.chaos.scenario import REPO, ScenarioRow, sized
from tests.lakehouse_fixtures import FIXTURE_DAY, FIXTURES, _reset_caches, copy_fixture_sources, lake_bucket

# The module runs the pipeline once (~1-2 min on an idle laptop; far more on a loaded shared host).
pytestmark = pytest.mark.timeout(1800)

AIR = "air_quality_reading"
INTERVAL = DataInterval.for_local_day(FIXTURE_DAY)
BATCH = INTERVAL.batch_id(AIR)
BAD_TIME = 7  # fixture line with measured_at "#VALUE!" (see tests/integration/test_quarantine.py)
NO_VALUE = 123  # fixture line with no value
FIXED_TIME = "2026-11-26T00:00:00+07:00"
LEASE_SECONDS = 15  # short, so a killed holder blocks for seconds; renewed every 5 s, enough on a busy host
AIR_FILE = FIXTURES / "environment" / "air_quality" / "readings_20261126.csv"


def _data_lines(path: Path) -> set[int]:
    """The payload line numbers of the data rows (line 1 is the header), counted from the file itself;
    a byte-for-byte repeat of an earlier line is left out (silver drops exact duplicates by design,
    they are counted in the books as such, not lost)."""
    seen: set[bytes] = set()
    numbers = set()
    for number, line in enumerate(path.read_bytes().splitlines()[1:], start=2):
        if line not in seen:
            numbers.add(number)
        seen.add(line)
    return numbers


def _log_versions(key: str) -> list[int]:
    """Commit files in the table's ``_delta_log``, listed on the store (not through Delta)."""
    from jobs.storage import list_keys

    names = [k.rsplit("/", 1)[1] for k in list_keys(f"{key}/_delta_log/")]
    return sorted(int(n.split(".")[0]) for n in names if n.endswith(".json") and n.split(".")[0].isdigit())


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``lakehouse …`` in its own process (its own JVM when it needs Spark), as a steward would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", *args],
        cwd=REPO,
        env=env or dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cli_here(*args: str) -> int:
    """``lakehouse …`` in this process (its Spark session is warm), output discarded."""
    import io

    from jobs.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        return main(list(args))


@contextlib.contextmanager
def _reaped(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """The process, killed if the test fails before it ends (no writer outlives its scenario)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


class _Holders:
    """Polls the lease on a resource in a thread and keeps every holder seen (who took part, in order)."""

    def __init__(self, resource: str) -> None:
        self.resource, self.seen = resource, []  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        from jobs.lease import current

        while not self._stop.wait(0.1):
            lease = current(self.resource)
            if lease and not lease["free"] and (not self.seen or self.seen[-1][:2] != (lease["holder"], lease["pid"])):
                self.seen.append((lease["holder"], lease["pid"], time.monotonic()))

    def __enter__(self) -> _Holders:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _books(dataset: str, batch: str, expected: set[int]) -> dict[str, Any]:
    """Where each expected source line is now: silver (any status) or open in quarantine."""
    from jobs.registry import REGISTRY
    from jobs.tables import quarantine_key

    ds = REGISTRY[dataset]
    silver = [r["_source_line"] for r in faults.table_rows(ds.table_path) if r["_batch_id"] == batch]
    held = [
        r["_source_line"]
        for r in faults.table_rows(quarantine_key(ds))
        if r["_batch_id"] == batch and r["status"] not in ("released", "accepted")
    ]
    places = Counter(silver) + Counter(held)
    return {
        "silver": len(silver),
        "quarantined": len(held),
        "lost": sorted(expected - set(places)),
        "duplicated": sorted(line for line, n in places.items() if n > 1),
        "unexpected": sorted(set(places) - expected),
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The fixture day's air stations, air readings and wastewater facilities, run through the pipeline."""
    from jobs.pipeline import run_dataset

    root = tmp_path_factory.mktemp("two_writers")
    saved = os.environ.get("LAKEHOUSE_LEASE_SECONDS")
    os.environ["LAKEHOUSE_LEASE_SECONDS"] = str(LEASE_SECONDS)
    try:
        with lake_bucket("writers", copy_fixture_sources(root / "sources"), root / "gx") as bucket:
            start, end = INTERVAL.as_strings()
            for name in ("air_station", AIR):
                run_dataset(name, start, end, run_id="two-writers")
            yield {"bucket": bucket}
    finally:
        if saved is None:
            os.environ.pop("LAKEHOUSE_LEASE_SECONDS", None)
        else:
            os.environ["LAKEHOUSE_LEASE_SECONDS"] = saved
        _reset_caches()


def _rerun_air() -> dict[str, Any]:
    """The pipeline's silver, gate and publish steps of the air batch again (it is landed and loaded),
    under one lease as ``jobs.pipeline.run_dataset`` holds it (a steward's release cannot fall between
    the silver step and the publish, which would publish a staging that predates the release)."""
    from jobs.lease import dataset_resource, hold
    from jobs.pipeline import gate_batch, publish_batch, refine_batch

    start, end = INTERVAL.as_strings()
    with hold(dataset_resource(AIR), holder="pipeline rerun of air_quality_reading"):
        refined = refine_batch(AIR, BATCH, start, end)
        return publish_batch(AIR, gate_batch(AIR, refined, start, end, run_id="two-writers-rerun"))


def _release_args(line: int = BAD_TIME, correction: str = f"measured_at={FIXED_TIME}") -> list[str]:
    return [
        "quarantine",
        "release",
        "--dataset",
        AIR,
        "--row",
        f"{BATCH}:{line}",
        "--set",
        correction,
        "--note",
        "station log: 00:00",
        "--steward",
        "chaos",
        "--json",
    ]


def test_quarantine_release_while_the_pipeline_writes(lake: dict[str, Any], chaos_row: ScenarioRow) -> None:
    from jobs.lease import dataset_resource
    from jobs.registry import REGISTRY
    from jobs.tables import quarantine_key

    expected = _data_lines(AIR_FILE)
    silver_key, quarantine = REGISTRY[AIR].table_path, quarantine_key(REGISTRY[AIR])
    before = {k: faults.table_version(k) for k in (silver_key, quarantine)}
    with _Holders(dataset_resource(AIR)) as holders, _reaped(_cli(*_release_args())) as steward:
        time.sleep(1.0)  # the command is importing / taking its lease while the pipeline starts its steps
        rerun = _rerun_air()
        out, err = steward.communicate(timeout=600)
    assert steward.returncode == 0, err
    released = json.loads(out)
    assert (released["rows_selected"], released["rows_released"]) == (1, 1)
    assert rerun["published"] is not None

    holders_seen = {h for h, _, _ in holders.seen}
    assert "lakehouse quarantine release by chaos" in holders_seen, holders.seen
    assert "pipeline rerun of air_quality_reading" in holders_seen, holders.seen

    books = _books(AIR, BATCH, expected)
    assert books["lost"] == [] and books["duplicated"] == [] and books["unexpected"] == []
    silver = faults.table_rows(silver_key)
    assert [r["_source_line"] for r in silver if r["_batch_id"] == BATCH].count(BAD_TIME) == 1
    # every commit either writer made is in the log, numbered without a gap (none overwritten)
    for key in (silver_key, quarantine):
        versions = _log_versions(key)
        assert (
            versions == list(range(versions[0], versions[-1] + 1))
            and versions[-1] == faults.table_version(key) > before[key]
        )
    chaos_row.count(records_in=len(expected), silver=books["silver"], quarantined=books["quarantined"])
    chaos_row.detail = (
        f"release + rerun of {AIR} at once; lease holders in turn: {len(holders.seen)}; "
        f"silver v{before[silver_key]}→v{faults.table_version(silver_key)}, "
        f"quarantine v{before[quarantine]}→v{faults.table_version(quarantine)}"
    )


def test_erasures_at_once_are_serialized(lake: dict[str, Any], chaos_row: ScenarioRow) -> None:
    """Each erasure appends its audit row to ``audit/erasure`` with Spark: at once, without the lease,
    both would write the same log version and one audit record would be lost."""
    from jobs.lease import QUALITY

    audit_before = len(faults.table_rows("audit/erasure"))
    n = sized(2, 4)
    started = time.monotonic()
    erase = ("erase", "--subject", "contact_phone=0912345678", "--reason", "chaos")
    with _Holders(QUALITY) as holders, contextlib.ExitStack() as running:
        procs = [running.enter_context(_reaped(_cli(*erase, "--requested-by", f"dpo{i}"))) for i in range(n)]
        results = [p.communicate(timeout=900) for p in procs]
    seconds = time.monotonic() - started
    assert [p.returncode for p in procs] == [0] * n, [e[-2000:] for _, e in results]
    audit = faults.table_rows("audit/erasure")
    assert len({r["erasure_id"] for r in audit}) == len(audit)
    assert audit_before == 0 and sorted(r["requested_by"] for r in audit) == [f"dpo{i}" for i in range(n)]
    assert len(audit) == n
    versions = _log_versions("audit/erasure")  # no version written twice over: a gapless log
    assert versions == list(range(0, versions[-1] + 1))
    assert sorted({h for h, _, _ in holders.seen}) == sorted(f"lakehouse erase requested by dpo{i}" for i in range(n))
    assert len(holders.seen) == n  # one after the other: n turns, each by another process
    # the records here are the erasure requests: each must have its audit row (none lost, none twice)
    chaos_row.count(records_in=n, silver=len(audit) - audit_before, quarantined=0)
    chaos_row.detail = f"{n} lakehouse erase at once: {n} audit commits (v0..v{versions[-1]}), in turn, {seconds:.0f} s"


def test_killed_holder_expires_and_the_next_writer_proceeds(lake: dict[str, Any], chaos_row: ScenarioRow) -> None:
    from jobs.lease import current, dataset_resource
    from jobs.registry import REGISTRY
    from jobs.tables import quarantine_key

    resource = dataset_resource(AIR)
    silver_key, quarantine = REGISTRY[AIR].table_path, quarantine_key(REGISTRY[AIR])
    before = {k: faults.table_version(k) for k in (silver_key, quarantine)}
    # as if on another host (another Airflow worker, a steward's laptop): its death is not visible
    # here, so only the lease's expiry frees the tables (on the same host a dead pid frees them at once)
    steward = _cli(*_release_args(NO_VALUE, "value=3.0"), env={**os.environ, "LAKEHOUSE_LEASE_HOST": "steward-laptop"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lease = current(resource)
        if lease and not lease["free"] and lease["pid"] == steward.pid:
            break
        time.sleep(0.05)
    else:
        steward.kill()
        pytest.fail("the release never took the lease")
    os.kill(steward.pid, signal.SIGKILL)  # no release, no cleanup: the lease stays until it expires
    killed_at = time.monotonic()
    steward.wait()
    dead = current(resource)
    assert dead is not None and dead["pid"] == steward.pid and not dead["released"]
    # killed before its JVM started: it committed nothing
    assert {k: faults.table_version(k) for k in (silver_key, quarantine)} == before

    with _Holders(resource) as holders:  # the steward runs the release again (here, in-process)
        code = _cli_here(*_release_args(NO_VALUE, "value=3.0"))
    assert code == 0
    ours = [h for h in holders.seen if h[1] == os.getpid()]  # before it: the dead holder's lease, still live
    assert ours and all(h[1] == steward.pid for h in holders.seen[: holders.seen.index(ours[0])])
    waited = ours[0][2] - killed_at
    taken = current(resource)
    assert taken is not None and taken["pid"] == os.getpid()
    # not before the dead holder's lease expired (the store's clock has 1 s steps), and soon after
    late = datetime.fromisoformat(taken["acquired_at"]) - datetime.fromisoformat(dead["expires_at"])
    assert late >= timedelta(seconds=-1.5), (dead, taken)
    assert waited <= LEASE_SECONDS + 15, waited
    assert {k: faults.table_version(k) for k in (silver_key, quarantine)} != before  # and it committed
    expected = _data_lines(AIR_FILE)
    books = _books(AIR, BATCH, expected)
    assert books["lost"] == [] and books["duplicated"] == [] and books["unexpected"] == []
    silver = [r for r in faults.table_rows(silver_key) if r["_batch_id"] == BATCH and r["_source_line"] == NO_VALUE]
    assert [r["value"] for r in silver] == [3.0]  # released once, with the steward's correction
    chaos_row.count(records_in=len(expected), silver=books["silver"], quarantined=books["quarantined"])
    chaos_row.detail = (
        f"release SIGKILLed holding the lease ({LEASE_SECONDS} s); the release run again took it over "
        f"{waited:.1f} s after the kill and committed"
    )
