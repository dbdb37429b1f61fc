"""Errors that describe the data, not the machine: retrying the task cannot fix them.

Orchestrators fail such a task at once (no retry) and show the message, which always says
what to do. Transient failures (store unreachable, a JVM hiccup) stay ordinary exceptions
and are retried.
"""


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
