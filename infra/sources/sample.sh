#!/usr/bin/env bash
# Generate one day of every sector's deterministic sample sources into $LAKEHOUSE_SOURCE_ROOT
# (default .state/sources): `make sample` for RUN_DATE, `make cluster-run` for each of its days.
# usage: infra/sources/sample.sh YYYY-MM-DD ROWS SEED
set -euo pipefail
day=${1:?usage: $0 YYYY-MM-DD ROWS SEED} rows=${2:?ROWS} seed=${3:?SEED}
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
out=${LAKEHOUSE_SOURCE_ROOT:-${LAKEHOUSE_STATE_DIR:-$root/.state}/sources}
"$py" -m sample_sources.environment.generate --out "$out" --date "$day" --rows "$rows" --seed "$seed"
"$py" -m sample_sources.environment.transmissions --root "$out" --date "$day"
"$py" -m sample_sources.agriculture.generate --out "$out" --date "$day" --rows "$rows" --seed "$seed"
"$py" -m sample_sources.transport.generate --out "$out" --date "$day" --rows "$rows" --seed "$seed"
