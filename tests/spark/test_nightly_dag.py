"""End to end on Spark: the nightly DAG with AUDIENCES_ENGINE=spark, run by
Airflow (`airflow dags test`), equals the same nights on DuckDB.

Two nights of the same generated sources: the first on `local[2]`, the second
on a Spark standalone cluster on this machine (a master and two workers, so
every model runs on executors in processes of their own, Python UDFs
included). Each night extracts, loads (the landing Parquet as the raw
tables), checks the raw gate, builds, checks the marts gate, stages and
publishes on Spark. The same nights built on DuckDB (tests/spark/conftest.py)
are the reference:

- every table of the marts and segments, and the two histories the nights
  keep (the id log, the segment snapshots), equal row for row;
- every data test passes on Spark;
- both gates give every check the same outcome and count of unexpected rows;
- the publication holds the marts as Parquet and audience files with the same
  rows as DuckDB's; rollback returns to the first night's publication.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from audiences.config import airflow_env, settings
from audiences.publish.publication import current, read_record, stage
from audiences.quality.gates import run_gate
from audiences.quality.results import read_gate_result
from audiences.report.steps import executed_run
from tests.conftest import DAY_BEFORE, END, SHELL_SETTINGS, use_sources
from tests.spark.conftest import HISTORIES, engine_differences, table_rows
from tests.spark.standalone import standalone_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.spark, pytest.mark.heavy]

AIRFLOW = str(Path(os.sys.executable).with_name("airflow"))
DAG_ID = "customer_segments_nightly"


def _airflow(home: Path, *args: str, **env: str) -> str:
    environ = airflow_env(
        home,
        AUDIENCES_ENGINE="spark",
        AUDIENCES_RETRY_DELAY_SECONDS="1",
        AUDIENCES_SHOP_URL=f"sqlite:///{home / 'sources' / 'shop.sqlite'}",
        # Small data: fewer, larger tasks per shuffle than the profile's default.
        AUDIENCES_SPARK_SHUFFLE_PARTITIONS="2",
        **env,
    )
    out = subprocess.run([AIRFLOW, *args], env=environ, capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    return log


def _night(home: Path, day, **env: str) -> None:
    log = _airflow(home, "dags", "test", DAG_ID, day.isoformat(), **env)
    assert "state=success" in log, log[-6000:]
    executed_run(settings(), day, log)  # a "success" that ran no task is no success


@pytest.fixture(scope="module")
def nights(duckdb_built, tmp_path_factory, sources_day_before, sources_through_end):
    home = tmp_path_factory.mktemp("spark-dag")
    with pytest.MonkeyPatch.context() as patch:
        for var in SHELL_SETTINGS:
            patch.delenv(var, raising=False)
        patch.setenv("AUDIENCES_HOME", str(home))
        _airflow(home, "db", "migrate")
        use_sources(home, sources_day_before)
        _night(home, DAY_BEFORE)
        first = current(settings())
        use_sources(home, sources_through_end)
        with standalone_cluster(home / "cluster") as (master, work_dirs):
            _night(home, END, AUDIENCES_SPARK_MASTER=master)
        yield home, first, work_dirs


def test_both_nights_publish_on_spark(nights):
    _, first, _ = nights
    live = current(settings())
    assert read_record(first)["as_of"] == DAY_BEFORE.isoformat()
    assert read_record(live)["as_of"] == END.isoformat()
    for table, rows in read_record(live)["tables"].items():
        parquet = f"read_parquet('{live}/marts/{table}/*.parquet')"
        assert duckdb.sql(f"select count(*) from {parquet}").fetchall() == [(rows,)], table
    results = json.loads((settings().dbt_target_dir / "run_results.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    assert sum(node.startswith("test.") for node in statuses) >= 150
    assert {s for node, s in statuses.items() if not node.startswith("exposure.")} <= {
        "success",
        "pass",
    }


def test_the_second_night_ran_on_both_workers_of_the_cluster(nights):
    _, _, work_dirs = nights
    for work_dir in work_dirs:
        executors = [d for app in work_dir.glob("app-*") for d in app.iterdir() if d.is_dir()]
        assert executors, f"no executor ran on {work_dir.name}"


def test_every_mart_segment_and_history_equals_duckdb(nights, duckdb_built):
    spark_dir = Path(settings().spark_dir)
    assert engine_differences(duckdb_built, spark_dir) == {}
    assert engine_differences(duckdb_built, spark_dir, only=HISTORIES) == {}
    snapshots = "(select distinct as_of from intermediate.int_segment_membership_snapshots)"
    assert table_rows(duckdb_built, snapshots) == 2
    assert table_rows(duckdb_built, "marts.dim_customers") > 1000


def _outcomes(gate: str) -> dict:
    result = read_gate_result(settings(), END, gate)
    assert result is not None
    return {
        (c.suite, c.expectation, c.column): (c.success, c.unexpected_count) for c in result.checks
    }


def test_both_gates_judge_alike_on_both_engines(nights, duckdb_built, monkeypatch):
    """The checkpoints of the Spark engine (GX's Spark datasource) find what the
    DuckDB ones find, check by check."""
    on_spark = {gate: _outcomes(gate) for gate in ("raw", "marts")}
    monkeypatch.setenv("AUDIENCES_HOME", str(duckdb_built))
    for gate in ("raw", "marts"):
        run_gate(settings(), gate, END)
        assert len(on_spark[gate]) >= (30 if gate == "raw" else 10)
        assert on_spark[gate] == _outcomes(gate), gate


def _audiences(folder: Path) -> dict[str, list[dict]]:
    files = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as handle:
            files[path.name] = list(csv.DictReader(handle))
    return files


def test_audience_files_written_by_spark_hold_what_duckdb_writes(nights, duckdb_built, monkeypatch):
    """Each audience and its hashed emails, row for row and column for column.
    The bytes differ in quoting only: DuckDB quotes a text with a space or a '#',
    Spark only where it must. (The deltas are the next test's: DuckDB's home
    published no earlier night to compare with.)"""
    day = END.isoformat()
    live = current(settings())
    written_by_spark = _audiences(live / "exports" / day)
    monkeypatch.setenv("AUDIENCES_HOME", str(duckdb_built))
    written_by_duckdb = _audiences(stage(settings(), END, "test__duckdb") / "exports" / day)
    segments = read_record(live)["segments"]
    assert len(written_by_spark) == 5 * len(segments)
    for segment in segments:
        hashed = (f"{segment}.{platform}.sha256.csv" for platform in ("meta", "google"))
        for name in (f"{segment}.csv", *hashed):
            assert written_by_spark[name] == written_by_duckdb[name], name


def test_the_deltas_written_by_spark_compare_with_the_first_night(nights):
    _, first, _ = nights
    live = current(settings())
    now = _audiences(live / "exports" / END.isoformat())
    before = _audiences(first / "exports" / DAY_BEFORE.isoformat())
    changed = 0
    for segment in read_record(live)["segments"]:
        members = {row["customer_id"] for row in now[f"{segment}.csv"]}
        earlier = {row["customer_id"] for row in before.get(f"{segment}.csv", [])}
        entered = {row["customer_id"] for row in now[f"{segment}.entered.csv"]}
        exited = {row["customer_id"] for row in now[f"{segment}.exited.csv"]}
        assert (entered, exited) == (members - earlier, earlier - members), segment
        changed += len(entered) + len(exited)
    assert changed > 0


def test_the_sync_sends_what_spark_published_checking_consent_in_sparks_tables(nights, monkeypatch):
    from audiences.activate.audience import restrictions
    from audiences.activate.local_servers import KlaviyoServer
    from audiences.activate.sync import run

    home, _, _ = nights
    monkeypatch.setenv("AUDIENCES_ENGINE", "spark")
    live = current(settings()) / "exports" / END.isoformat()
    sizes = json.loads((live / "_manifest.json").read_text())["segments"]
    segment = max(sizes, key=lambda name: sizes[name]["audience"])
    (home / "destinations.yml").write_text(
        "destinations:\n  klaviyo:\n    type: klaviyo\n    connection: klaviyo_spark\n"
        f"    segments:\n      {segment}: {{target: L1, fields: [first_name]}}\n"
    )
    # Consent as Spark's last build has it: the generated CRM has people who opted out.
    assert "consent" in set(restrictions(settings()).values())
    with KlaviyoServer() as klaviyo:
        connection = {"conn_type": "http", "host": klaviyo.url, "password": klaviyo.key}
        monkeypatch.setenv("AIRFLOW_CONN_KLAVIYO_SPARK", json.dumps(connection))
        result = run(settings())[0]
        rows = duckdb.sql(f"select lower(email) from read_csv('{live / segment}.csv')").fetchall()
        assert result["status"] == "succeeded" and result["sent"] == len(rows) > 0
        assert klaviyo.members("L1") == {email for (email,) in rows}


def test_rollback_returns_to_the_first_nights_publication(nights):
    home, first, _ = nights
    out = subprocess.run(
        [str(Path(os.sys.executable).with_name("audiences")), "rollback"],
        env={**airflow_env(home), "AUDIENCES_ENGINE": "spark"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert current(settings()) == first
