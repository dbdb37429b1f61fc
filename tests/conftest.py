"""Process-wide test hygiene."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def stop_spark_at_the_end() -> Iterator[None]:
    """Stop the shared SparkSession while logging still works (py4j logs on shutdown)."""
    yield
    import sys

    if "pyspark" in sys.modules:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()
