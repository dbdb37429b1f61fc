"""The benchmark's pure parts: medians, the t(n) = a + b·n fit and its log-log slope, the correctness
fingerprint of a table and the comparison of fingerprints, and a sampler of a process tree's memory.

Kept apart from the runner so unit tests can check them on numbers written by hand.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fit:
    """t(n) = a + b·n by least squares: ``a`` the fixed seconds, ``b`` seconds per row; ``slope`` is
    d log t / d log n between the smallest and the largest size (1.0 = linear, 0 = all fixed cost)."""

    a: float
    b: float
    slope: float | None

    @property
    def us_per_row(self) -> float:
        return self.b * 1e6


def fit_linear(sizes: Sequence[float], seconds: Sequence[float]) -> Fit:
    """Least-squares line through (size, seconds); one size gives no slope and b = t / n."""
    if len(sizes) != len(seconds) or not sizes:
        raise ValueError("need as many timings as sizes, at least one")
    if len(set(sizes)) == 1:
        return Fit(a=0.0, b=statistics.fmean(seconds) / sizes[0], slope=None)
    mean_n, mean_t = statistics.fmean(sizes), statistics.fmean(seconds)
    b = sum((n - mean_n) * (t - mean_t) for n, t in zip(sizes, seconds, strict=True)) / sum(
        (n - mean_n) ** 2 for n in sizes
    )
    return Fit(a=mean_t - b * mean_n, b=b, slope=loglog_slope(sizes, seconds))


def loglog_slope(sizes: Sequence[float], seconds: Sequence[float]) -> float | None:
    """Slope of log t against log n between the smallest and the largest size."""
    pairs = sorted(zip(sizes, seconds, strict=True))
    (n0, t0), (n1, t1) = pairs[0], pairs[-1]
    if n0 == n1 or t0 <= 0 or t1 <= 0:
        return None
    return math.log(t1 / t0) / math.log(n1 / n0)


def median_stages(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per stage, the median over the repetitions (a stage missing from a run counts as absent)."""
    names = list(dict.fromkeys(name for run in runs for name in run))
    return {name: statistics.median([run[name] for run in runs if name in run]) for name in names}


# ------------------------------------------------------------------------------ correctness check


def _canonical(frame: Any, columns: Sequence[str]) -> Any:
    """The columns in one comparable form: times as epoch µs, days as day numbers, -0.0 as 0.0."""
    import polars as pl

    exprs = []
    for name in columns:
        dtype = frame.schema[name]
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            col = col.dt.replace_time_zone(None).dt.cast_time_unit("us").cast(pl.Int64)
        elif dtype == pl.Date:
            col = col.cast(pl.Int32).cast(pl.Int64)
        elif dtype.is_float():
            col = col.cast(pl.Float64) + 0.0
        elif dtype.is_integer():
            col = col.cast(pl.Int64)
        else:
            col = col.cast(pl.String)
        exprs.append(col.alias(name))
    return frame.select(exprs)


def fingerprint(frame: Any, columns: Sequence[str], count_by: str | None = None) -> dict[str, Any]:
    """Rows, a checksum (sum over rows of a hash of the listed columns, mod 2^64) and, with ``count_by``,
    rows per value of that column: equal fingerprints mean the same rows, whichever engine wrote them."""
    import numpy as np
    import polars as pl

    canonical = _canonical(frame, columns)
    hashes = canonical.select(pl.struct(list(columns)).hash(seed=0).alias("h")).get_column("h").to_numpy()
    out: dict[str, Any] = {"rows": frame.height, "checksum": f"{int(np.sum(hashes, dtype=np.uint64)):016x}"}
    # per column too, so a difference names the column it is in
    per_column = canonical.select([pl.col(c).hash(seed=0) for c in columns])
    out["columns"] = {c: f"{int(np.sum(per_column.get_column(c).to_numpy(), dtype=np.uint64)):016x}" for c in columns}
    if count_by is not None:
        counts = frame.group_by(count_by).len().sort(count_by).iter_rows()
        out["by"] = {str(k): int(v) for k, v in counts}
    return out


def compare(fingerprints: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
    """Differences between implementations' fingerprints, table by table, against the first one
    (``{implementation: {table: fingerprint}}``); empty when all agree."""
    names = list(fingerprints)
    if len(names) < 2:
        return []
    reference, problems = names[0], []
    for other in names[1:]:
        for table in sorted(set(fingerprints[reference]) | set(fingerprints[other])):
            mine, theirs = fingerprints[reference].get(table), fingerprints[other].get(table)
            if mine is None or theirs is None:
                problems.append(f"{table}: only {reference if theirs is None else other} has it")
                continue
            for key in sorted(set(mine) | set(theirs)):
                if mine.get(key) != theirs.get(key):
                    if isinstance(mine.get(key), dict) and isinstance(theirs.get(key), dict):
                        a, b = mine[key], theirs[key]
                        diff = {k: (a.get(k, 0), b.get(k, 0)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
                        problems.append(f"{table}.{key}: {reference} vs {other} differ on {diff}")
                    else:
                        problems.append(f"{table}.{key}: {reference} {mine.get(key)} vs {other} {theirs.get(key)}")
    return problems


# ------------------------------------------------------------------------------------- memory


class TreeMemory:
    """Peak resident memory of a process and all its children (the JVM Spark starts, a child
    Python), sampled in a thread every ``interval`` seconds while the ``with`` block runs."""

    def __init__(self, pid: int | None = None, interval: float = 0.2) -> None:
        import os

        self.pid, self.interval = pid or os.getpid(), interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        import psutil

        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:  # ended between the listing and the reading
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self.peak = self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())
