"""The stream's wait for a quiet log (``jobs.stream.settle``): a burst that lands in pieces is refined in
one round, an idle or quiet log costs no wait, a lander round in progress is waited for, and a trickle
that never goes quiet (or a lander that never finishes) waits a bounded time.

Driven by a scripted log (what a listing returns at each moment) and a fake clock, so the waits are exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.stream import LANDER_WAIT, SETTLE_LIMIT, settle

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
AIR, WATER = "air_quality_reading", "wastewater_reading"


class ScriptedLog:
    """A log whose objects appear at given seconds after T0 (key → second), listed as the store would."""

    def __init__(self, appear: dict[str, dict[str, float]], lander_busy_until: float = 0.0) -> None:
        self.appear = appear
        self.lander_busy_until = lander_busy_until
        self.now = 0.0
        self.listings = 0
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return T0 + timedelta(seconds=self.now)

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds

    def landing(self) -> bool:
        return self.now < self.lander_busy_until

    def unprocessed(self) -> dict[str, dict[str, datetime]]:
        self.listings += 1
        return {
            name: {k: T0 + timedelta(seconds=at) for k, at in objects.items() if at <= self.now}
            for name, objects in self.appear.items()
        }


def test_a_burst_in_two_pieces_is_listed_whole_once_the_log_is_quiet() -> None:
    # the lander's first round stored 2,000 messages at 0 s, its next round the rest of the hour at 1.5 s
    log = ScriptedLog({AIR: {"seg-0002": 1.5, "seg-0001": 0.0}, WATER: {"tx-a": 0.2}})
    listed = settle(log.unprocessed, 2.0, clock=log.clock, sleep=log.sleep)
    assert listed == {AIR: ["seg-0001", "seg-0002"], WATER: ["tx-a"]}
    # listed at 0 s: the newest is 0 s old → wait 2 s; at 2 s the newest (1.5 s) is 0.5 s old → 1.5 s more
    assert log.slept == [2.0, 1.5]
    assert log.now == 3.5


def test_an_idle_log_and_a_quiet_one_cost_one_listing_and_no_wait() -> None:
    idle = ScriptedLog({AIR: {}, WATER: {}})
    idle.now = 50.0
    assert settle(idle.unprocessed, 2.0, clock=idle.clock, sleep=idle.sleep) == {AIR: [], WATER: []}
    quiet = ScriptedLog({AIR: {"seg-0001": 10.0}, WATER: {}})
    quiet.now = 12.0  # the newest object is exactly `quiet` seconds old
    assert settle(quiet.unprocessed, 2.0, clock=quiet.clock, sleep=quiet.sleep) == {AIR: ["seg-0001"], WATER: []}
    assert (idle.slept, quiet.slept, idle.listings, quiet.listings) == ([], [], 1, 1)


def test_a_trickle_that_never_goes_quiet_waits_no_longer_than_the_limit() -> None:
    # a new object every half second for a minute: the log is never 2 s quiet
    log = ScriptedLog({AIR: {f"seg-{n:04d}": n / 2 for n in range(120)}, WATER: {}})
    listed = settle(log.unprocessed, 2.0, clock=log.clock, sleep=log.sleep)
    assert sum(log.slept) == SETTLE_LIMIT * 2.0
    assert listed[AIR] == [f"seg-{n:04d}" for n in range(13)]  # what had landed by 6 s, in name order


def test_a_lander_round_in_progress_is_waited_for() -> None:
    # an hour's FTP transmissions copied over 20 s, the first file stored at 0 s and one every 0.1 s
    log = ScriptedLog({AIR: {}, WATER: {f"tx-{n:03d}": n / 10 for n in range(200)}}, lander_busy_until=20.0)
    listed = settle(log.unprocessed, 2.0, log.landing, clock=log.clock, sleep=log.sleep)
    assert listed[WATER] == [f"tx-{n:03d}" for n in range(200)]  # the whole burst, not the first 6 s of it
    assert 20.0 <= log.now <= 20.0 + 2.0  # no longer than the round, then the quiet time at most


def test_a_lander_that_never_finishes_is_waited_for_no_longer_than_its_limit() -> None:
    log = ScriptedLog({AIR: {"seg-0001": 0.0}, WATER: {}}, lander_busy_until=10_000.0)
    settle(log.unprocessed, 2.0, log.landing, clock=log.clock, sleep=log.sleep)
    assert log.now == LANDER_WAIT
    idle = ScriptedLog({AIR: {}, WATER: {}}, lander_busy_until=10_000.0)  # nothing new: no wait at all
    settle(idle.unprocessed, 2.0, idle.landing, clock=idle.clock, sleep=idle.sleep)
    assert idle.slept == []
