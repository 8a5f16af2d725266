"""The dbt build on a Spark standalone cluster: a master and two workers on this
machine, so every model runs on executors in processes of their own (the
Python UDFs too), not in the driver's JVM. Its marts equal DuckDB's."""

from __future__ import annotations

import pytest

from tests.spark.conftest import build_on_spark, engine_differences
from tests.spark.standalone import standalone_cluster

pytestmark = [pytest.mark.dbt, pytest.mark.spark]


@pytest.fixture(scope="module")
def on_cluster(duckdb_built, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-cluster")
    with standalone_cluster(folder / "cluster") as (master, work_dirs):
        # The application takes every worker's core: one executor on each.
        results = build_on_spark(duckdb_built, folder / "spark", AUDIENCES_SPARK_MASTER=master)
    return duckdb_built, folder / "spark", work_dirs, results


def test_every_model_and_test_passes_on_the_cluster(on_cluster):
    _, _, _, results = on_cluster
    statuses = {
        r["status"] for r in results["results"] if not r["unique_id"].startswith("exposure.")
    }
    assert statuses <= {"success", "pass"}


def test_each_worker_ran_executors_of_the_build(on_cluster):
    _, _, work_dirs, _ = on_cluster
    for work_dir in work_dirs:
        executors = [d for app in work_dir.glob("app-*") for d in app.iterdir() if d.is_dir()]
        assert executors, f"no executor ran on {work_dir.name}"


def test_marts_built_on_the_cluster_equal_duckdb(on_cluster):
    home, spark_dir, _, _ = on_cluster
    assert engine_differences(home, spark_dir) == {}
