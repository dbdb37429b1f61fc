"""Process-wide test hygiene."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after pytest
# closed its streams; that message is noise, so keep py4j's logger at warnings.
logging.getLogger("py4j").setLevel(logging.WARNING)


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
