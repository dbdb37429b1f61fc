"""Errors that describe the data, not the machine: retrying the task cannot fix them.

Orchestrators fail such a task at once (no retry) and show the message, which always says
what to do. Transient failures (store unreachable, a JVM hiccup) stay ordinary exceptions
and are retried.
"""


class DataError(RuntimeError):
    """A deterministic problem with the data or its source; the message says how to fix it."""
