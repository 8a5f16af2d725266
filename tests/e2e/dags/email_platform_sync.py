"""A downstream DAG the way docs/deploy.md shows one: scheduled on fresh audiences.

The real-scheduler test deploys it next to the nightly DAG; each publish's
asset event triggers it, and it records what the events said.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task

from audiences.airflow_tasks import published_asset


@dag(
    schedule=[published_asset()],
    start_date=pendulum.datetime(2000, 1, 1, tz="UTC"),
    catchup=False,
    tags=["test"],
    default_args={"retries": 1},
    doc_md=__doc__,
)
def email_platform_sync():
    @task
    def record(*, triggering_asset_events=None) -> list[dict]:
        received = [event.extra for events in triggering_asset_events.values() for event in events]
        Path(os.environ["AUDIENCES_HOME"], "synced.json").write_text(json.dumps(received))
        return received

    record()


email_platform_sync()
