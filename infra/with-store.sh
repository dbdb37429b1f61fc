#!/usr/bin/env bash
# Run a command with the local store up; stop the store afterwards only if this script started it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
started=0
if ! "$here/store/store.sh" status >/dev/null 2>&1; then
  "$here/store/store.sh" start
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then "$here/store/store.sh" stop; fi; }
trap cleanup EXIT
"${PYTHON:-$(dirname "$here")/.venv/bin/python}" "$here/store/bootstrap.py"
"$@"
