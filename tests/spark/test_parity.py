"""The same two nights built on DuckDB and on Spark (`local[2]`), night after
night, give the same marts and segments, and keep the same history, row for row.

The Spark build is `audiences dbt build` with AUDIENCES_ENGINE=spark in its
own process: the raw layer is the landing Parquet, the phone and email
functions are Python UDFs, the identity graph is solved by label propagation.
DuckDB then reads what Spark wrote (Parquet) next to its own tables.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from audiences.config import settings
from audiences.publish.publication import current, read_record, stage
from audiences.quality.gates import read_gate_result, run_gate
from tests.conftest import END
from tests.spark.conftest import (
    HISTORIES,
    LEFT_BY_OTHER_RUNS,
    build_on_spark,
    engine_differences,
    on_spark,
    table_rows,
)

pytestmark = [pytest.mark.dbt, pytest.mark.spark]


@pytest.fixture(scope="module")
def spark_local(duckdb_built, tmp_path_factory):
    spark_dir = tmp_path_factory.mktemp("spark-local")
    results = build_on_spark(duckdb_built, spark_dir, AUDIENCES_SPARK_MASTER="local[2]")
    return duckdb_built, spark_dir, results


def test_spark_build_runs_every_model_and_test(spark_local):
    _, _, results = spark_local
    assert results["args"]["target"] == "spark"
    statuses = {
        r["unique_id"]: r["status"]
        for r in results["results"]
        if r["unique_id"].split(".")[0] in ("model", "seed", "test")
    }
    failed = {
        node: status for node, status in statuses.items() if status not in ("success", "pass")
    }
    assert not failed
    assert sum(node.startswith("model.") for node in statuses) >= 50
    assert sum(node.startswith("test.") for node in statuses) >= 150


def test_every_mart_and_segment_is_equal_on_both_engines(spark_local):
    home, spark_dir, _ = spark_local
    assert engine_differences(home, spark_dir) == {}
    assert table_rows(home, "marts.segment_membership_history") > 0
    # Equal, and not trivially: the generated customers are there.
    assert table_rows(home, "marts.dim_customers") > 1000
    assert table_rows(home, "marts.audience_members") > 500


def test_the_nights_history_is_the_same_on_both_engines(spark_local):
    """The models that keep history are incremental on Spark too: each night
    overwrites its own partition, and two nights keep the same rows as DuckDB's
    delete+insert."""
    home, spark_dir, _ = spark_local
    assert engine_differences(home, spark_dir, only=HISTORIES) == {}
    snapshots = "(select distinct as_of from intermediate.int_segment_membership_snapshots)"
    assert table_rows(home, snapshots) == 2


def _outcomes(gate: str) -> dict:
    result = read_gate_result(settings(), END, gate)
    assert result is not None
    return {
        (c.suite, c.expectation, c.column): (c.success, c.unexpected_count) for c in result.checks
    }


@pytest.fixture(scope="module")
def gated(spark_local):
    """Both gates on DuckDB (in this process), then on Spark (`audiences gate`):
    each check's outcome on either engine."""
    home, spark_dir, _ = spark_local
    outcomes = {}
    with pytest.MonkeyPatch.context() as patch:
        for var in LEFT_BY_OTHER_RUNS:
            patch.delenv(var, raising=False)
        patch.setenv("AUDIENCES_HOME", str(home))
        for gate in ("raw", "marts"):
            run_gate(settings(), gate, END)
            on_duckdb = _outcomes(gate)
            on_spark(home, spark_dir, "gate", gate, "--date", END.isoformat())
            outcomes[gate] = (on_duckdb, _outcomes(gate))
        yield home, spark_dir, outcomes


def test_both_gates_judge_alike_on_both_engines(gated):
    """The GX checkpoints of the Spark engine (GX's Spark datasource) find what
    the DuckDB ones find: every check passes or fails alike, with as many
    unexpected rows."""
    _, _, outcomes = gated
    for gate, (on_duckdb, on_spark_) in outcomes.items():
        assert len(on_duckdb) >= (30 if gate == "raw" else 10)
        assert on_spark_ == on_duckdb, gate


def _audiences(folder: Path) -> dict[str, list[dict]]:
    return {path.name: _csv(path) for path in sorted(folder.glob("*.csv"))}


def _csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def published(gated):
    """The night staged on DuckDB (not published), then published twice on Spark
    (`audiences publish`: stage, gates read back, drift, switch) and rolled back."""
    home, spark_dir, _ = gated
    with pytest.MonkeyPatch.context() as patch:
        for var in LEFT_BY_OTHER_RUNS:
            patch.delenv(var, raising=False)
        patch.setenv("AUDIENCES_HOME", str(home))
        on_duckdb = stage(settings(), END, "test__duckdb")
        day = END.isoformat()
        first = on_spark(home, spark_dir, "publish", "--date", day, "--run-id", "test__first")
        live_first = current(settings())
        on_spark(home, spark_dir, "publish", "--date", day, "--run-id", "test__second")
        live_second = current(settings())
        on_spark(home, spark_dir, "rollback")
        yield on_duckdb, live_first, live_second, current(settings()), first


def test_spark_publishes_its_marts_as_parquet_with_the_same_rows(published):
    on_duckdb, live, _, _, output = published
    assert "published" in output
    record, duckdb_record = read_record(live), read_record(on_duckdb)
    assert record["run_id"] == "test__first"
    assert record["tables"] == duckdb_record["tables"]
    assert record["segments"] == duckdb_record["segments"]
    for table, rows in record["tables"].items():
        parquet = f"read_parquet('{live}/marts/{table}/*.parquet')"
        assert duckdb.sql(f"select count(*) from {parquet}").fetchall() == [(rows,)], table


def test_audience_files_written_by_spark_hold_what_duckdb_writes(published):
    """Row for row and column for column; the bytes differ only in quoting
    (DuckDB quotes a text with a space or a '#', Spark only when it must), which
    a CSV reader does not see."""
    on_duckdb, live, _, _, _ = published
    day = END.isoformat()
    written_by_spark = _audiences(live / "exports" / day)
    assert len(written_by_spark) == 4 * len(read_record(live)["segments"])
    assert written_by_spark == _audiences(on_duckdb / "exports" / day)


def test_rollback_returns_to_the_previous_spark_publication(published):
    _, first, second, after_rollback, _ = published
    assert first != second
    assert after_rollback == first
