"""The row every chaos scenario reports, and where the rows go.

Each scenario (``tests/chaos/test_*.py``) runs at two sizes: ``small`` inside ``make test`` and
``full`` under ``make chaos`` (``LAKEHOUSE_CHAOS_SCALE``). It fills one :class:`ScenarioRow` with
what it counted itself (records in, silver, quarantined, lost, duplicated) and asserts lost = 0 and
duplicated = 0; the fixture in ``conftest.py`` adds the outcome and seconds and appends the row to
``test-output/chaos.jsonl``, from which ``python -m tests.chaos.table`` prints the table.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
RESULTS = Path(os.environ.get("LAKEHOUSE_CHAOS_RESULTS", REPO / "test-output" / "chaos.jsonl"))


def scale() -> str:
    """``small`` (make test) or ``full`` (make chaos)."""
    value = os.environ.get("LAKEHOUSE_CHAOS_SCALE", "small")
    if value not in ("small", "full"):
        raise ValueError(f"LAKEHOUSE_CHAOS_SCALE={value!r}: use 'small' (make test) or 'full' (make chaos)")
    return value


def sized(small: int, full: int) -> int:
    """The scenario's size at the current scale."""
    return full if scale() == "full" else small


@dataclass
class ScenarioRow:
    """What one scenario did, counted by the scenario itself (never taken from the code under test)."""

    scenario: str
    records_in: int = 0
    silver: int = 0
    quarantined: int = 0
    # Source duplicates merged into one silver row by the dedup rule (the books count them apart).
    merged_duplicates: int = 0
    lost: int = 0
    duplicated: int = 0
    outcome: str = "not run"
    seconds: float = 0.0
    detail: str = ""
    scale: str = "small"

    def count(
        self, *, records_in: int, silver: int, quarantined: int, duplicated: int = 0, merged_duplicates: int = 0
    ) -> None:
        """Books of the scenario: lost = records in − silver − quarantined − merged source duplicates.

        ``duplicated`` is what the scenario found twice (e.g. one source line in two silver rows);
        more rows out than in also counts as duplicated."""
        self.records_in, self.silver, self.quarantined = records_in, silver, quarantined
        self.merged_duplicates = merged_duplicates
        accounted = silver + quarantined + merged_duplicates
        self.lost = max(records_in - accounted, 0)
        self.duplicated = max(duplicated, accounted - records_in, 0)

    def append_to(self, path: Path = RESULTS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(self), ensure_ascii=False) + "\n")


def read_rows(path: Path = RESULTS) -> list[ScenarioRow]:
    """The rows of the last run per scenario (later lines win)."""
    if not path.exists():
        return []
    latest: dict[str, ScenarioRow] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = ScenarioRow(**json.loads(line))
            latest[row.scenario] = row
    return list(latest.values())
