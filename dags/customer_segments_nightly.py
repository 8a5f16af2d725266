"""
### customer_segments_nightly

The nightly run of **audiences**, write-audit-publish:

1. **extract** the CRM exports, the web analytics events and the shop
   database (in parallel, each into immutable Parquet under `landing/` with
   a quarantine for bad records);
2. **erase** the people whose erasure was requested (`audiences erase`) from
   everything the project keeps, then **load** the extracts into the DuckDB
   warehouse's `raw` schema (the single writer);
3. **source_freshness**: `dbt source freshness` on the sources' business
   timestamps, for the report (a stale source warns, it never holds the run);
   then **raw_gate**: the Great Expectations suites of the raw sources;
4. **dbt_features**, **predict**, **dbt_build** as of the run's logical
   date: dbt builds staging, identity resolution and the customers'
   point-in-time features; the predict step trains, checks and applies the
   purchase propensity and churn risk scores (docs/segments.md); dbt builds
   the rest with them: customer profiles, segments and audiences;
5. **marts_gate**: the suites of the marts (grain, identity cap, one primary
   segment per customer, segment sizes, only contactable people in audiences);
6. **stage_publication**: a copy of the marts and the audience files, next
   to the live publication, where no consumer reads;
7. **publish**: if both gates passed and no segment's size drifted beyond
   the configured share, switch the `published` link to it in one rename.
   A backfill (a date older than the live publication) is built and checked
   but its publish is *skipped*, unless the run's param `publish_older_date`
   is true. A drift held against the live publication is published when
   the run's param `accept_drift` is true (a deliberate change);
8. **report** (always): the run report and its index under `reports/`.

A critical check that fails stops the run before publishing: the previous
publication stays live, the failure callback logs the failing checks and
posts them to the webhook of the Connection `audiences_alerts` (or
`AUDIENCES_ALERT_WEBHOOK`), and the report says why the run was held.
`audiences rollback` returns to the previous good run. A publish updates
the asset `audiences_published` (its event's extra names the date and the
folder), so a downstream DAG can be scheduled on fresh audiences.

- The run for logical date *D* covers the data of day *D* (UTC) and starts
  after it ends, at the time `AUDIENCES_SCHEDULE` sets (cron, default 02:00).
  A run triggered without a logical date covers the day the schedule gives
  its trigger time (the last complete day).
- The shop database is the Connection `audiences_shop` when it exists, else
  `AUDIENCES_SHOP_URL`.
- Re-running *D* gives the same rows; backfilling an earlier date works.
- Every task that opens the DuckDB file runs in the one-slot pool
  `duckdb_writer` (`airflow pools import deploy/airflow_pools.json`):
  DuckDB allows one writer at a time. With `AUDIENCES_ENGINE=spark`
  (docs/scale-out.md) dbt builds on Spark, whose tables take many writers:
  the tasks run in Airflow's default pool.

Tasks are thin calls into `audiences.pipeline`. A permanent error (schema
drift, a contract or configuration error, a failed gate or build) fails its
task at once, without retries; transient ones (a locked warehouse, a late
export) are retried.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from audiences.airflow_tasks import (
    dag_settings,
    fail_fast,
    night_step,
    published_asset,
    run_as_of,
)
from audiences.config import settings

# A wrong AUDIENCES_* variable fails the import with its name and expected form.
CONFIG = settings()
# DuckDB's single writer: the pool is created by the deployment (deploy/airflow_pools.json).
WAREHOUSE_POOL = "duckdb_writer" if CONFIG.engine == "duckdb" else "default_pool"
# First retry delay; extracts double it on each retry (sources are often briefly unavailable).
RETRY_DELAY = timedelta(seconds=CONFIG.retry_delay_seconds)
# Updated by every publish: schedule a downstream DAG (an email-platform sync) on it.
PUBLISHED = published_asset()


@task(
    retries=3,
    retry_delay=RETRY_DELAY,
    retry_exponential_backoff=True,
    max_retry_delay=timedelta(minutes=30),
)
def extract(source: str, **context) -> str:
    from audiences.airflow_tasks import shop_url
    from audiences.pipeline import extract_step

    with fail_fast():
        url = shop_url() if source == "shop" else None
    return night_step(extract_step, context, source, shop_url=url)


@task(pool=WAREHOUSE_POOL)
def erase(**context) -> list[dict]:
    from audiences.pipeline import erase_step

    return night_step(erase_step, context)


@task(pool=WAREHOUSE_POOL)
def load(manifests: list[str], **context) -> list[dict]:
    from audiences.pipeline import load_step

    return night_step(load_step, context, manifests)


@task(pool=WAREHOUSE_POOL)
def source_freshness(**context) -> dict:
    from audiences.pipeline import freshness_step

    return night_step(freshness_step, context)


@task(pool=WAREHOUSE_POOL)
def gate(name: str, **context) -> dict:
    from audiences.pipeline import gate_step

    return night_step(gate_step, context, name)


@task(pool=WAREHOUSE_POOL)
def dbt_build(selector: str, **context) -> dict:
    from audiences.pipeline import transform_step

    return night_step(transform_step, context, selector=selector)


@task(pool=WAREHOUSE_POOL)
def predict(**context) -> dict:
    from audiences.pipeline import predict_step

    return night_step(predict_step, context)


@task(pool=WAREHOUSE_POOL)
def stage_publication(**context) -> str:
    from audiences.pipeline import stage_step

    return night_step(stage_step, context)


@task(outlets=[PUBLISHED])
def publish(publication: str, **context) -> str:
    from airflow.sdk.exceptions import AirflowSkipException

    from audiences.pipeline import publish_step
    from audiences.publish.publication import StalePublicationError

    as_of = run_as_of(context)
    with fail_fast():
        try:
            params = context["params"]
            folder = publish_step(
                as_of,
                publication,
                context["run_id"],
                params["publish_older_date"],
                params.get("accept_drift", False),
            )
        except StalePublicationError as exc:
            raise AirflowSkipException(str(exc)) from exc
    context["outlet_events"][PUBLISHED].extra = {"as_of": as_of.isoformat(), "path": folder}
    return folder


@task
def prune_publications() -> list[str]:
    from audiences.pipeline import prune_step

    with fail_fast():
        return prune_step()


@task(pool=WAREHOUSE_POOL, trigger_rule="all_done")
def report(**context) -> str:
    from audiences.pipeline import report_step

    return night_step(report_step, context)


@dag(
    dag_id="customer_segments_nightly",
    schedule=CronDataIntervalTimetable(CONFIG.schedule, timezone="UTC"),
    tags=["audiences", "nightly", "customer-360"],
    doc_md=__doc__,
    **dag_settings(CONFIG),
    params={
        "publish_older_date": Param(
            False,
            type="boolean",
            description="Publish even when the run's date is older than the live"
            " publication's (a deliberate backfill that consumers should see).",
        ),
        "accept_drift": Param(
            False,
            type="boolean",
            description="Publish even when a segment's size moved beyond the drift guard's"
            " limit (a deliberate change: a new rule, a new source); the report records it.",
        ),
    },
)
def customer_segments_nightly():
    manifests = [
        extract.override(task_id=f"extract_{source}")(source)
        for source in CONFIG.enabled_sources  # AUDIENCES_SOURCES
    ]
    raw_gate = gate.override(task_id="raw_gate")("raw")
    marts_gate = gate.override(task_id="marts_gate")("marts")
    staged = stage_publication()
    published = publish(staged)
    loaded = load(manifests)
    # Erasure writes the warehouse: after the extracts, which read it.
    manifests >> erase() >> loaded
    features = dbt_build.override(task_id="dbt_features")("features")
    built = dbt_build.override(task_id="dbt_build")("from_scores")
    (
        loaded
        >> source_freshness()
        >> raw_gate
        >> features
        >> predict()
        >> built
        >> marts_gate
        >> staged
    )
    # The report runs whatever happened; pruning only after a publish, so a held
    # run leaves the DAG run failed.
    published >> [report(), prune_publications()]


customer_segments_nightly()
