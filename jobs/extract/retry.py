"""Retries with exponential backoff and full jitter inside one task try (HTTP and FTP adapters).

Why: a dropped connection or a 503 is usually over in seconds; retrying in-process (resuming from
what is staged) is far cheaper than failing the Airflow task and starting a new try. When every
attempt fails, the last error is raised as a transient one and Airflow's own retries take over.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from jobs.errors import DataError

T = TypeVar("T")
log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0


class RetryAfter(Exception):
    """A transient refusal that says how long to wait (HTTP 503 + ``Retry-After``)."""

    def __init__(self, message: str, seconds: float | None) -> None:
        super().__init__(message)
        self.seconds = seconds


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(max, base·2^(attempt-1))] (AWS architecture blog's variant)."""
    cap = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return (rng or random).uniform(0, cap)


def with_retries(
    what: str,
    attempt_fn: Callable[[int], T],
    attempts: int,
    transient: tuple[type[BaseException], ...],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``attempt_fn(attempt)`` until it returns; transient errors are retried ``attempts`` times.

    ``DataError`` and ``FileNotFoundError`` (``SourceMissingError``) are never retried here: the data
    is wrong, or the source has nothing yet (the task's own retries wait for it). After the last attempt the
    error is re-raised as ``ConnectionError`` naming ``what`` and the number of attempts.
    """
    last: BaseException | None = None
    retryable: tuple[type[BaseException], ...] = (RetryAfter, *transient)
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            return attempt_fn(attempt)
        except (DataError, FileNotFoundError):
            raise  # wrong data, or nothing published yet (SourceMissingError): not the wire's fault
        except retryable as err:
            last = err
            if attempt >= attempts:
                break
            delay = backoff_delay(attempt)
            if isinstance(err, RetryAfter) and err.seconds is not None:
                delay = min(max(err.seconds, 0.0), BACKOFF_MAX_SECONDS)
            log.warning(
                "%s: attempt %d/%d failed (%s: %s); retrying in %.2f s",
                what,
                attempt,
                attempts,
                type(err).__name__,
                err,
                delay,
            )
            sleep(delay)
    raise ConnectionError(
        f"{what}: failed after {attempts} attempts, last error: {type(last).__name__}: {last}. "
        "What was already fetched is kept in staging and the task's next try resumes from it; "
        "check that the source server is up (`make sources`)."
    ) from last
