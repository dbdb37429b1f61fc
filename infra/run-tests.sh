#!/usr/bin/env bash
# The test suite in two passes (run by `make test`, inside infra/with-store.sh):
#  1. every test not marked `serial`, on TEST_WORKERS pytest-xdist workers (default 2). A test file
#     runs whole on one worker (--dist loadfile): a file's fixed ports and module fixtures stay
#     together. Files go out in collection order (--no-loadscope-reorder): the long single-test
#     drills of tests/chaos and tests/dags first, the many short unit files fill the end; xdist's
#     default (most tests first) left the long drills for last, one worker idle beside them.
#     Each worker has its own copy of the Airflow metadata DB (tests/conftest.py).
#  2. the `serial` tests alone: they stop the shared store, which no other test may see.
# Arguments are pytest's (paths, -k, -v ...), passed to both passes. A pass that selects nothing
# (pytest exit 5) is not a failure unless neither pass selected anything.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py="${PYTHON:-$(dirname "$here")/.venv/bin/python}"
workers="${TEST_WORKERS:-2}"

"$py" -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder -m "not serial" --durations=15 "$@"
parallel=$?
"$py" -m pytest -m serial "$@"
serial=$?

if [ "$parallel" = 5 ] && [ "$serial" = 5 ]; then exit 5; fi
[ "$parallel" = 5 ] && parallel=0
[ "$serial" = 5 ] && serial=0
[ "$parallel" = 0 ] && [ "$serial" = 0 ] && exit 0
echo "test passes: parallel exit $parallel, serial exit $serial" >&2
exit 1
