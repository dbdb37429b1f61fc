"""The lander's two channel loops (``jobs.stream.run_lander``): each channel lands in its own thread, a
transient error is retried next round, and an unexpected error in one channel stops both and is raised
instead of leaving the lander running with one channel dead.

The channels are replaced by scripted rounds (the real ones are the kill drill's and the extract tests');
what is under test is the loop around them."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pytest

from jobs import stream
from jobs.settings import Settings

DAY = date(2026, 11, 26)


@dataclass
class Channels:
    """Each channel's rounds and the busy marks it wrote (kept in memory)."""

    rounds: Counter[str] = field(default_factory=Counter)
    marks: dict[str, list[bool]] = field(default_factory=dict)


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch) -> Channels:
    seen = Channels()
    monkeypatch.setattr(
        stream,
        "mark_lander",
        lambda ds, busy, settings, landed_at=None: seen.marks.setdefault(ds.name, []).append(busy),
    )
    return seen


def test_each_channel_lands_its_rounds_and_a_transient_error_is_retried(
    channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    def land(dataset: stream.Dataset, settings: Settings, days: list[date], landed: object = None) -> int:
        channels.rounds[dataset.name] += 1
        if dataset.name == "wastewater_reading" and channels.rounds[dataset.name] == 2:
            raise ConnectionError("the FTP server hung up")  # transient: logged, next round
        return 1

    monkeypatch.setattr(stream, "land_channel", land)
    stream.run_lander(Settings(), period=0.0, rounds=3, days=[DAY])
    assert channels.rounds == {"air_quality_reading": 3, "wastewater_reading": 3}
    assert channels.marks == {name: [True, False] * 3 for name in stream.STREAMED}  # busy, then not, every round


def test_an_unexpected_error_in_one_channel_stops_both_and_is_raised(
    channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    def land(dataset: stream.Dataset, settings: Settings, days: list[date], landed: object = None) -> int:
        channels.rounds[dataset.name] += 1
        if dataset.name == "wastewater_reading":
            raise ValueError("a transmission the lander cannot handle")
        return 0

    monkeypatch.setattr(stream, "land_channel", land)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            stream.run_lander(Settings(), period=0.01, rounds=None, days=[DAY])  # would run forever
        except ValueError as err:
            raised.append(err)

    lander = threading.Thread(target=run, daemon=True)
    lander.start()
    lander.join(timeout=30)
    assert not lander.is_alive(), "the MQTT channel kept running after the FTP channel died"
    assert [str(e) for e in raised] == ["a transmission the lander cannot handle"]
    assert channels.rounds["wastewater_reading"] == 1
    assert channels.marks["wastewater_reading"] == [True, False]


def test_the_marker_says_when_the_channel_last_landed_something(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream lists the log again only when this moves (``LogWatch``): it must move after a round
    that landed, and after one that failed part-way (it may have landed some), and not otherwise."""
    marks: list[tuple[bool, str | None]] = []

    def mark(ds: stream.Dataset, busy: bool, settings: Settings, landed_at: str | None = None) -> None:
        if ds.name == "wastewater_reading":
            marks.append((busy, landed_at))

    outcomes = iter([0, 2, 0, "fail", 0])

    def land(dataset: stream.Dataset, settings: Settings, days: list[date], landed: object = None) -> int:
        if dataset.name != "wastewater_reading":
            return 0
        outcome = next(outcomes)
        if outcome == "fail":
            time.sleep(0.002)  # the mark's time (microseconds) cannot equal the last one
            raise ConnectionError("the FTP server hung up mid-copy")
        return int(outcome)

    monkeypatch.setattr(stream, "mark_lander", mark)
    monkeypatch.setattr(stream, "land_channel", land)
    stream.run_lander(Settings(), period=0.0, rounds=5, days=[DAY])

    ended = [at for busy, at in marks if not busy]  # the mark each round ends with
    assert ended[0] is None  # nothing landed yet
    assert ended[1] is not None  # landed 2
    assert ended[2] == ended[1]  # landed nothing: unchanged
    assert ended[3] is not None and ended[3] != ended[1]  # failed part-way: moved
    assert ended[4] == ended[3]
    assert [at for busy, at in marks if busy] == [
        None,
        None,
        ended[1],
        ended[2],
        ended[3],
    ]  # a round starts as the last ended
