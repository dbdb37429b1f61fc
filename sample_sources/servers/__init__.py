"""Local source servers (HTTP API, FTP) for the laptop and the tests, bound to 127.0.0.1 only.

Each serves a directory tree (the source root the generators write into), runs as
``python -m sample_sources.servers.<name>`` and in-process on a free port via ``serve_in_thread``,
and carries a thread-safe ``faults`` object so tests can make it drop a transfer midway.
"""
