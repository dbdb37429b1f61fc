"""The stream lists the live log again only when a lander says it landed more (or after a while);
the lander keeps the names it copied instead of listing the log every round."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from jobs import stream
from jobs.settings import Settings

DAY, NEXT = date(2026, 11, 26), date(2026, 11, 27)
AIR, WATER = stream.STREAMED
AT = datetime(2026, 11, 26, 3, tzinfo=UTC)


class FakeLake:
    """The log's objects, the landers' markers and the checkpoints, with every listing counted."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, datetime]] = {AIR: {"seg-1": AT}, WATER: {"tx-1": AT, "tx-2": AT}}
        self.marks: dict[str, dict[str, Any]] = {AIR: {}, WATER: {"landed_at": "t1"}}
        self.processed: dict[str, set[str]] = {AIR: set(), WATER: {"tx-1"}}
        self.listings = 0
        self.now = 0.0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def log_objects(dataset: stream.Dataset, days: list[date], settings: Settings) -> dict[str, datetime]:
            self.listings += 1
            return dict(self.objects[dataset.name])

        monkeypatch.setattr(stream, "log_objects", log_objects)
        monkeypatch.setattr(stream, "lander_marks", lambda settings: {k: dict(v) for k, v in self.marks.items()})
        monkeypatch.setattr(
            stream.Checkpoint, "read", classmethod(lambda cls, ds, settings: cls(set(self.processed[ds.name])))
        )


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch) -> FakeLake:
    fake = FakeLake()
    fake.install(monkeypatch)
    return fake


def test_the_log_is_listed_again_only_when_a_lander_landed_more(lake: FakeLake) -> None:
    watch = stream.LogWatch(Settings(), clock=lambda: lake.now)
    assert watch([DAY]) == {AIR: {"seg-1": AT}, WATER: {"tx-2": AT}}
    assert lake.listings == 2  # one per dataset

    lake.objects[WATER]["tx-3"] = AT  # written, its lander's round not finished: not seen yet
    lake.processed[WATER].add("tx-2")  # the checkpoint is read every time
    assert watch([DAY]) == {AIR: {"seg-1": AT}, WATER: {}}
    assert lake.listings == 2

    lake.marks[WATER]["landed_at"] = "t2"  # the round ended
    assert watch([DAY]) == {AIR: {"seg-1": AT}, WATER: {"tx-3": AT}}
    assert lake.listings == 4


def test_the_log_is_listed_again_after_a_while_and_for_other_days(lake: FakeLake) -> None:
    watch = stream.LogWatch(Settings(), clock=lambda: lake.now)
    watch([DAY])
    lake.objects[AIR]["seg-2"] = AT  # landed some other way: no marker moved
    lake.now = stream.LOG_RELIST_SECONDS - 0.1
    assert "seg-2" not in watch([DAY])[AIR]
    lake.now = stream.LOG_RELIST_SECONDS
    assert "seg-2" in watch([DAY])[AIR]
    listed = lake.listings
    watch([DAY, NEXT])
    assert lake.listings == listed + 2


def test_the_lander_lists_a_day_once_then_keeps_what_it_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[str] = []

    def list_keys(prefix: str, settings: Settings) -> list[str]:
        listed.append(prefix)
        return [f"{prefix}a.csv", f"{prefix}b.csv"]

    monkeypatch.setattr(stream.storage, "list_keys", list_keys)
    now = [0.0]
    names = stream.LandedNames(Settings(), clock=lambda: now[0])
    assert names.of("log/day=2026-11-26/") == {"a.csv", "b.csv"}
    names.of("log/day=2026-11-26/").add("c.csv")
    assert names.of("log/day=2026-11-26/") == {"a.csv", "b.csv", "c.csv"}
    assert listed == ["log/day=2026-11-26/"]
    now[0] = 10 * stream.LOG_RELIST_SECONDS  # listed again: the log is the truth
    assert names.of("log/day=2026-11-26/") == {"a.csv", "b.csv"}
    assert len(listed) == 2
