"""
### audiences_sync

Sends the live audiences to the email tools (docs/activation.md), after
every publish: the DAG is scheduled on the asset `audiences_published`,
which `customer_segments_nightly` updates when it publishes, and can be
triggered by hand at any time.

1. **destinations**: the destinations of `destinations.yml`
   (`AUDIENCES_DESTINATIONS`, default `$AUDIENCES_HOME/destinations.yml`);
   none when the file does not exist (nothing is synced);
2. **sync**, one mapped task per destination, in parallel: each segment's
   entered and exited people since the last successful sync to that
   destination, consent and erasure re-checked at send time, erasures
   deleted downstream, every record in the destination's ledger;
3. **report** (always): the live date's run report again, now with a
   section per destination and segment (sent, updated, removed, skipped
   and why, failed, seconds).

Credentials come from each destination's Airflow Connection. A sync whose
failed share passes `AUDIENCES_SYNC_MAX_FAILED_SHARE` (default 5 %) fails
its task, which alerts through the Connection `audiences_alerts`; its
failed records are part of the next run's delta, so a retry sends exactly
them. The sync reads the warehouse for the current consent only, briefly,
and never waits on a network while it holds it.
"""

from datetime import timedelta

from airflow.sdk import dag, task

from audiences.airflow_tasks import dag_settings, fail_fast, published_asset
from audiences.config import settings

CONFIG = settings()
# The report reads the warehouse: with DuckDB, in the single writer's pool.
WAREHOUSE_POOL = "duckdb_writer" if CONFIG.engine == "duckdb" else "default_pool"
RETRY_DELAY = timedelta(seconds=CONFIG.retry_delay_seconds)


@task
def destinations() -> list[str]:
    from audiences.activate.destinations import configured

    with fail_fast():
        return configured(settings())


@task(retries=2, retry_delay=RETRY_DELAY, retry_exponential_backoff=True)
def sync(destination: str, **context) -> dict:
    from audiences.activate.sync import SyncFailedError, run

    with fail_fast():
        result = run(settings(), destination, run_id=context["run_id"])[0]
    if result["status"] != "succeeded":
        missing = ", ".join(result["missing_segments"])
        raise SyncFailedError(
            f"{destination}: {result['failed']} records failed ({result['failed_batches']}"
            " batches; they are retried on the next run)"
            + (f"; not in the live publication: {missing}" if missing else "")
        )
    return result


@task(pool=WAREHOUSE_POOL, trigger_rule="all_done")
def report() -> str:
    from audiences.activate.sync import write_report

    with fail_fast():
        return write_report(settings())


@dag(
    dag_id="audiences_sync",
    schedule=[published_asset()],
    tags=["audiences", "activation"],
    doc_md=__doc__,
    **dag_settings(CONFIG),
)
def audiences_sync():
    sync.expand(destination=destinations()) >> report()


audiences_sync()
