"""
### customer_segments_nightly

The nightly run of **audiences**: extract the CRM exports, the web analytics
events and the shop database (in parallel, each into immutable Parquet under
`landing/` with a quarantine for bad records), load them into the DuckDB
warehouse's `raw` schema (the single writer), build the dbt project as of
the run's logical date (staging, identity resolution, customer profiles,
orders and consent, segments and audiences), write the audience files of
every active segment under `exports/<date>/`, and write the run summary
under `reports/`.

- The run for logical date *D* covers the data of day *D* (UTC) and starts
  after it ends, at the time `AUDIENCES_SCHEDULE` sets (cron, default 02:00).
- Re-running *D* gives the same rows; backfilling an earlier date works.
- Every task that writes the DuckDB file runs in the one-slot pool
  `duckdb_writer`: DuckDB allows one writer at a time.

Tasks are thin calls into `audiences.pipeline`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

WAREHOUSE_POOL = "duckdb_writer"
SOURCES = ("crm", "web", "shop")
# First retry delay; extracts double it on each retry (sources are often briefly unavailable).
RETRY_DELAY = timedelta(seconds=int(os.environ.get("AUDIENCES_RETRY_DELAY_SECONDS", "60")))


@dag(
    dag_id="customer_segments_nightly",
    schedule=CronDataIntervalTimetable(
        os.environ.get("AUDIENCES_SCHEDULE", "0 2 * * *"), timezone="UTC"
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["audiences", "nightly", "customer-360"],
    default_args={"owner": "data-engineering", "retries": 1, "retry_delay": RETRY_DELAY},
    doc_md=__doc__,
)
def customer_segments_nightly():
    @task(
        retries=3,
        retry_delay=RETRY_DELAY,
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(minutes=30),
    )
    def extract(source: str, *, logical_date=None, run_id=None) -> str:
        from audiences.pipeline import extract_step

        return extract_step(source, logical_date.date(), run_id)

    @task(pool=WAREHOUSE_POOL)
    def load(manifests: list[str]) -> list[dict]:
        from audiences.pipeline import load_step

        return load_step(manifests)

    @task(pool=WAREHOUSE_POOL)
    def dbt_build(*, logical_date=None) -> dict:
        from audiences.pipeline import transform_step

        return transform_step(logical_date.date())

    @task(pool=WAREHOUSE_POOL)
    def export_audiences(*, logical_date=None) -> str:
        from audiences.pipeline import export_step

        return export_step(logical_date.date())

    @task
    def report(*, logical_date=None) -> str:
        from audiences.pipeline import report_step

        return report_step(logical_date.date())

    manifests = [extract.override(task_id=f"extract_{source}")(source) for source in SOURCES]
    load(manifests) >> dbt_build() >> export_audiences() >> report()


customer_segments_nightly()
