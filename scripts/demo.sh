#!/usr/bin/env bash
# make demo: generate the default sources once, run the nightly DAG through
# Airflow for the last generated day (extract, load, gates, dbt, predict,
# publish, report), and print the run summary. The first time, the nights of
# two weeks and one week before it run first, so that the report already
# follows the segments' members through a week (KPIs, holdout lift). Running
# it again re-runs the last day, which publishes the same data again. Each task
# is printed as it finishes. DEMO_CUSTOMERS and DEMO_DAYS size the generated data.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/airflow_env.sh"
bin="$here/../.venv/bin"
sources="$AUDIENCES_HOME/sources"

if [ ! -f "$sources/generator.json" ]; then
  echo "==> generating source data (${DEMO_CUSTOMERS:-10000} customers, ${DEMO_DAYS:-180} days) in $sources"
  "$bin/audiences" generate --customers "${DEMO_CUSTOMERS:-10000}" --days "${DEMO_DAYS:-180}" \
    --out "$sources" > /dev/null
fi
logical_date="$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["through"])' "$sources/generator.json")"

echo "==> preparing Airflow in $AIRFLOW_HOME"
"$here/airflow_init.sh"

run_night() {
  local night="$1" log="$AUDIENCES_HOME/reports/$1/airflow_dags_test.log" start
  mkdir -p "$(dirname "$log")"
  echo "==> running DAG customer_segments_nightly for logical date $night (log: $log)"
  start=$(date +%s)
  # Each task printed as it finishes (name, seconds, what it did), while Airflow runs.
  "$bin/airflow" dags test customer_segments_nightly "$night" > "$log" 2>&1 &
  local airflow=$!
  "$bin/python" -m audiences.report.progress "$night" "$airflow"
  if ! wait "$airflow"; then
    echo "The DAG run failed; the end of its log:" >&2
    grep -E "ERROR|Error|error:" "$log" | tail -20 >&2 || tail -40 "$log" >&2
    exit 1
  fi
  if ! grep -q "state=success" "$log"; then
    echo "The DAG run did not succeed; see $log" >&2
    grep -E "ERROR|Error" "$log" | tail -20 >&2 || true
    exit 1
  fi
  # Airflow calls a run before the DAG's start date a success without running a task.
  if ! "$bin/python" -c 'import sys; from datetime import date
from audiences.config import settings; from audiences.report.steps import executed_run
executed_run(settings(), date.fromisoformat(sys.argv[1]), open(sys.argv[2]).read())' \
      "$night" "$log"; then
    echo "The DAG run for $night ran no task; see $log" >&2
    exit 1
  fi
  echo "==> DAG run succeeded in $(( $(date +%s) - start ))s"
}

if [ ! -e "$AUDIENCES_HOME/warehouse.duckdb" ]; then
  for weeks in 2 1; do
    run_night "$("$bin/python" -c 'import sys; from datetime import date, timedelta
print(date.fromisoformat(sys.argv[1]) - timedelta(weeks=int(sys.argv[2])))' "$logical_date" "$weeks")"
  done
fi
run_night "$logical_date"
echo
"$bin/audiences" summary --date "$logical_date"
echo
echo "run report:   $AUDIENCES_HOME/reports/$logical_date/report.html (all runs: $AUDIENCES_HOME/reports/index.html)"
echo "published:    $(readlink "$AUDIENCES_HOME/published") (marts: $AUDIENCES_HOME/published/warehouse.duckdb)"
echo "audiences:    $AUDIENCES_HOME/exports/$logical_date/"
