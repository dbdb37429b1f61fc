"""Chaos scenarios: each test takes ``chaos_row`` and fills it; the row is written whatever happens."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator

import pytest

from tests.chaos.scenario import ScenarioRow, scale


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_OUTCOME] = "passed" if report.passed else ("skipped" if report.skipped else "FAILED")
    elif report.failed and _OUTCOME not in item.stash:
        item.stash[_OUTCOME] = f"FAILED ({report.when})"


_OUTCOME = pytest.StashKey[str]()


@pytest.fixture
def chaos_row(request: pytest.FixtureRequest) -> Iterator[ScenarioRow]:
    """The scenario's row; its outcome and seconds are filled in and appended after the test."""
    row = ScenarioRow(scenario=request.node.name.removeprefix("test_"), scale=scale())
    started = time.monotonic()
    yield row
    row.seconds = round(time.monotonic() - started, 1)
    row.outcome = request.node.stash.get(_OUTCOME, "FAILED")
    row.append_to()
