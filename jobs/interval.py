"""Data intervals and the batch ids derived from them.

A batch id is a pure function of (dataset, data interval), so a rerun of the same interval finds
the batch it already landed instead of landing a second copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class DataInterval:
    """Half-open interval [start, end) in UTC that a run is responsible for."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"DataInterval.{name} must be timezone-aware, got {value!r}")
            object.__setattr__(self, name, value.astimezone(UTC))
        if self.end <= self.start:
            raise ValueError(f"empty data interval: {self.start} .. {self.end}")

    @classmethod
    def parse(cls, start: str | datetime, end: str | datetime) -> DataInterval:
        """From ISO strings or datetimes (Airflow passes either)."""

        def _dt(v: str | datetime) -> datetime:
            return v if isinstance(v, datetime) else datetime.fromisoformat(v)

        return cls(_dt(start), _dt(end))

    @classmethod
    def for_local_day(cls, day: date, utc_offset_hours: int = 7) -> DataInterval:
        """The Vietnamese calendar day ``day`` (UTC+7) as a UTC interval."""
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=utc_offset_hours)
        return cls(start, start + timedelta(days=1))

    @property
    def local_start_date(self) -> date:
        """The source-side (Vietnam local) date a daily source file is named after."""
        return (self.start + timedelta(hours=7)).date()

    @property
    def token(self) -> str:
        return f"{self.start:%Y%m%dT%H%M}Z-{self.end:%Y%m%dT%H%M}Z"

    def batch_id(self, dataset: str) -> str:
        return f"{dataset}__{self.token}"

    def as_strings(self) -> tuple[str, str]:
        return self.start.isoformat(), self.end.isoformat()
