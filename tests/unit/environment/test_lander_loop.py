"""The lander's two channel loops (``jobs.stream.run_lander``): each channel lands in its own thread, a
transient error is retried next round, and an unexpected error in one channel stops both and is raised
instead of leaving the lander running with one channel dead.

The channels are replaced by scripted rounds (the real ones are the kill drill's and the extract tests');
what is under test is the loop around them."""

from __future__ import annotations

import threading
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
        stream, "mark_lander", lambda ds, busy, settings: seen.marks.setdefault(ds.name, []).append(busy)
    )
    return seen


def test_each_channel_lands_its_rounds_and_a_transient_error_is_retried(
    channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    def land(dataset: stream.Dataset, settings: Settings, days: list[date]) -> int:
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
    def land(dataset: stream.Dataset, settings: Settings, days: list[date]) -> int:
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
