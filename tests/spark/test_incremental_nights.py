"""The three nights of tests/dbt/test_incremental_nights.py, on Spark.

The same sources, changed the same ways before each night (a merge and a
split, an opt-out and an opt-in again, a re-delivered hour with a late event,
an erasure), go through one home on DuckDB and one on Spark, night after
night, each night's steps as the DAG runs them. After every night the same
checks hold on Spark, and every mart, segment, history and web trait equals
DuckDB's, whose nightly chain equals a full refresh (the DuckDB test). After
the last night a full refresh on Spark equals Spark's nightly chain.

On Spark without Delta tables the models DuckDB keeps by key are rebuilt
whole each night; the histories (the id log, the segment snapshots) are its
incremental state, overwritten by partition, and they are what this proves.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from audiences.config import settings
from audiences.pipeline import erase_step
from audiences.transform import dbt_build
from tests.conftest import DAY_BEFORE, END, extract_and_load
from tests.dbt.test_incremental import MEMOS, RUN_LOGS
from tests.dbt.test_incremental_nights import FIRST, NIGHTS
from tests.spark.conftest import (
    HISTORIES,
    engine_differences,
    run_on_spark,
    spark_environ,
    spark_tables,
)

pytestmark = [pytest.mark.spark, pytest.mark.heavy]

WEB_TRAITS = "intermediate.int_customer_web_traits"


def _spark_night(home: Path, spark_dir: Path, day, *flags: str) -> None:
    command = [sys.executable, "-m", "tests.spark.night", day.isoformat(), *flags]
    run_on_spark(command, spark_environ(home, spark_dir))


def _spark_query(spark_dir: Path):
    con = spark_tables(spark_dir)
    return lambda sql, params: con.execute(sql, params).fetchall()


def _parquet_differences(built: Path, reference: Path) -> dict[str, tuple[int, int]]:
    """Per table folder of two Spark table directories: (rows only in ``built``,
    rows only in ``reference``), where any; the run logs left out, as on DuckDB."""
    con = duckdb.connect()
    tables = sorted(p.relative_to(built) for p in built.glob("*.db/*") if p.is_dir())
    assert tables == sorted(p.relative_to(reference) for p in reference.glob("*.db/*"))
    differences = {}
    for table in tables:
        if table.name in RUN_LOGS:
            continue
        a, b = (
            f"read_parquet('{root / table}/**/*.parquet', hive_partitioning = true)"
            for root in (built, reference)
        )
        only = [
            con.execute(f"select count(*) from (from {x} except all from {y})").fetchone()[0]
            for x, y in ((a, b), (b, a))
        ]
        if table.name in MEMOS:
            only[0] = 0
        if any(only):
            differences[str(table)] = tuple(only)
    return differences


def test_three_nights_on_spark_equal_duckdbs_and_a_full_refresh(
    home, sources_two_days_before, sources_day_before, sources_through_end, tmp_path_factory
):
    sources = {
        FIRST: sources_two_days_before,
        DAY_BEFORE: sources_day_before,
        END: sources_through_end,
    }
    spark_home = tmp_path_factory.mktemp("spark-nights")
    spark_dir = spark_home / "spark"
    for day, change, check in NIGHTS:
        change(home, sources)
        extract_and_load(day)
        erase_step(day)
        dbt_build(settings(), day)

        change(spark_home, sources)
        _spark_night(spark_home, spark_dir, day)
        check(_spark_query(spark_dir))
        assert engine_differences(home, spark_dir) == {}, day
        assert engine_differences(home, spark_dir, only=(*HISTORIES, WEB_TRAITS)) == {}, day

    nightly = spark_home / "nightly-tables"
    shutil.copytree(spark_dir / "tables", nightly)
    _spark_night(spark_home, spark_dir, END, "--full-refresh")
    assert _parquet_differences(nightly, spark_dir / "tables") == {}
