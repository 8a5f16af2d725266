"""DAG integrity: every DAG file imports cleanly and follows the project's rules."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest

from audiences.config import settings

DAGS = Path(__file__).resolve().parents[2] / "dags"
# Tasks that open the DuckDB file (a reader cannot open it while another process writes).
WAREHOUSE_TASKS = {
    "erase",
    "load",
    "source_freshness",
    "raw_gate",
    "dbt_features",
    "predict",
    "dbt_build",
    "marts_gate",
    "stage_publication",
    "report",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def nightly(dagbag):
    return dagbag.dags["customer_segments_nightly"]


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(list(DAGS.glob("*.py")))  # one DAG per file


def test_every_dag_has_tags_docs_and_retries(dagbag):
    from airflow.utils.dag_cycle_tester import check_cycle

    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and dag.doc_md.strip(), dag_id
        assert dag.catchup is False, dag_id
        check_cycle(dag)  # raises on a cycle
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_nightly_schedule_and_concurrency(nightly):
    from airflow.timetables.interval import CronDataIntervalTimetable

    assert isinstance(nightly.timetable, CronDataIntervalTimetable)
    assert nightly.max_active_runs == 1
    assert str(nightly.start_date.tzinfo) in ("UTC", "Timezone('UTC')")
    # Early enough for years of history (AUDIENCES_START_DATE): a run before it runs nothing.
    assert nightly.start_date.date() == settings().start_date <= date(2000, 1, 1)


def test_extracts_run_in_parallel_with_backoff(nightly):
    extracts = [t for t in nightly.tasks if t.task_id.startswith("extract_")]
    assert {t.task_id for t in extracts} == {"extract_crm", "extract_web", "extract_shop"}
    for task in extracts:
        assert not task.upstream_task_ids
        assert task.downstream_task_ids == {"erase", "load"}
        assert task.retry_exponential_backoff
        assert task.retries >= 3
        assert task.pool != "duckdb_writer"  # extracts only write files


def test_every_warehouse_task_is_in_the_one_slot_pool(nightly):
    for task in nightly.tasks:
        if task.task_id in WAREHOUSE_TASKS:
            assert task.pool == "duckdb_writer", task.task_id


def test_erasure_runs_after_the_extracts_and_before_the_load(nightly):
    extracts = {"extract_crm", "extract_web", "extract_shop"}
    assert nightly.get_task("erase").upstream_task_ids == extracts
    assert nightly.get_task("load").upstream_task_ids == extracts | {"erase"}


def test_write_audit_publish_order(nightly):
    # load -> freshness -> raw gate -> features -> predict -> build -> marts gate
    # -> stage -> publish: nothing skips a gate.
    chain = [
        "load",
        "source_freshness",
        "raw_gate",
        "dbt_features",
        "predict",
        "dbt_build",
        "marts_gate",
        "stage_publication",
        "publish",
    ]
    for upstream, task_id in itertools.pairwise(chain):
        assert nightly.get_task(task_id).upstream_task_ids == {upstream}, task_id
    # The report runs whatever happened; pruning (a leaf) only after a publish, so a
    # held run ends failed.
    report = nightly.get_task("report")
    assert report.upstream_task_ids == {"publish"} and report.trigger_rule == "all_done"
    prune = nightly.get_task("prune_publications")
    assert prune.upstream_task_ids == {"publish"} and prune.trigger_rule == "all_success"


def test_failures_alert_through_the_notifier(nightly):
    from audiences.alerts import FailureNotifier

    for task in nightly.tasks:
        notifiers = [c for c in task.on_failure_callback if isinstance(c, FailureNotifier)]
        assert [n.connection_id for n in notifiers] == ["audiences_alerts"], task.task_id


def test_the_publish_updates_the_published_asset(nightly):
    outlets = nightly.get_task("publish").outlets
    assert [(a.name, a.uri) for a in outlets] == [
        ("audiences_published", settings().published.as_uri())
    ]


def test_the_pool_file_creates_the_writer_pool():
    pools = json.loads((DAGS.parent / "deploy" / "airflow_pools.json").read_text())
    assert pools["duckdb_writer"]["slots"] == 1


def test_a_run_without_a_logical_date_covers_the_last_complete_day(nightly):
    from audiences.airflow_tasks import run_as_of

    triggered = SimpleNamespace(run_after=pendulum.datetime(2026, 11, 23, 9, 30, tz="UTC"))
    context = {"logical_date": None, "data_interval_start": None, "dag": nightly}
    assert run_as_of({**context, "dag_run": triggered}) == date(2026, 11, 22)
    scheduled = pendulum.datetime(2026, 11, 21, 2, tz="UTC")
    assert run_as_of({**context, "logical_date": scheduled}) == date(2026, 11, 21)


def test_a_run_with_nothing_to_infer_a_date_from_fails_clearly():
    from airflow.sdk.exceptions import AirflowFailException

    from audiences.airflow_tasks import run_as_of

    with pytest.raises(AirflowFailException, match="--logical-date"):
        run_as_of({"logical_date": None, "dag_run": None, "dag": None})


def test_dag_files_import_nothing_heavy():
    # The scheduler parses DAG files often; the pipeline is imported inside tasks.
    for path in DAGS.glob("*.py"):
        code = (
            "import runpy, sys; runpy.run_path(sys.argv[1]);"
            " heavy = [m for m in ('duckdb', 'dbt', 'pandas', 'audiences.pipeline')"
            " if m in sys.modules]; print(','.join(heavy))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip().splitlines()[-1:] in ([], [""]), (path.name, out.stdout)


def test_the_sync_follows_every_publish_one_task_per_destination(dagbag):
    sync = dagbag.dags["audiences_sync"]
    assets = sync.timetable.asset_condition.objects
    assert [(asset.name, asset.uri) for asset in assets] == [
        ("audiences_published", settings().published.as_uri())
    ]
    assert sync.get_task("sync").upstream_task_ids == {"destinations"}
    assert sync.get_task("report").upstream_task_ids == {"sync"}
    assert sync.max_active_runs == 1
    # Never in the writer's pool while it waits on networks; the report reads the warehouse.
    pools = {task.task_id: task.pool for task in sync.tasks}
    assert pools == {"destinations": "default_pool", "sync": "default_pool",
                     "report": "duckdb_writer"}  # fmt: skip


def test_no_destinations_file_means_nothing_to_sync(home):
    from audiences.activate.destinations import configured

    assert configured(settings()) == []
