#!/usr/bin/env bash
# Create (or upgrade) Airflow's metadata database and the one-slot pool that
# serialises every task writing the DuckDB warehouse.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/airflow_env.sh"
bin="$here/../.venv/bin"
mkdir -p "$AIRFLOW_HOME"
"$bin/airflow" db migrate > "$AIRFLOW_HOME/db_migrate.log" 2>&1 \
  || { tail -20 "$AIRFLOW_HOME/db_migrate.log"; exit 1; }
"$bin/airflow" pools import "$here/../deploy/airflow_pools.json" > /dev/null
