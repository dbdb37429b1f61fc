"""Errors that describe the data, not the machine: retrying the task cannot fix them.

Orchestrators fail such a task at once (no retry) and show the message, which always says
what to do. Transient failures (store unreachable, a JVM hiccup) stay ordinary exceptions
and are retried.
"""

from __future__ import annotations

import os
import signal
import sys


class DataError(RuntimeError):
    """A deterministic problem with the data or its source; the message says how to fix it."""


class UserFacingError(RuntimeError):
    """A command-line user's mistake or a refusal (unknown table, access denied, bad SQL).

    The CLI prints the message (which says what to do) without a traceback and exits with
    ``exit_code``.
    """

    exit_code = 2


class AccessDeniedError(UserFacingError):
    """The store refused the caller's identity; the message names the missing grant."""

    exit_code = 3


class StoreUnreachableError(RuntimeError):
    """The object store did not answer within the retry budget: transient, so the task is retried;
    the message says to bring the store back and rerun."""


class StoreFullError(RuntimeError):
    """The object store refused a write for lack of disk space; the message says to free space and rerun."""


CRASH_AT_ENV = "LAKEHOUSE_CRASH_AT"
"""Fault injection for the crash drills: the name of a step after which the process kills itself
(``publish.after_silver``, ``publish.after_quarantine``, ``erase.after_<step>``). Never set in production."""


def crash_point(name: str) -> None:
    """Kill this process here (SIGKILL, as the OOM killer would) if the crash drill names this point."""
    if os.environ.get(CRASH_AT_ENV) == name:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
