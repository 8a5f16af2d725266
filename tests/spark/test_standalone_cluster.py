"""The dbt build on a Spark standalone cluster: a master and two workers on this
machine, so every model runs on executors in processes of their own (the
Python UDFs too), not in the driver's JVM. One night (the last) is built
there, and its marts equal DuckDB's after the same night; the two tables that
hold more than one night of history are left out (DuckDB built two nights)."""

from __future__ import annotations

import pytest

from tests.conftest import END
from tests.spark.conftest import build_on_spark, engine_differences
from tests.spark.standalone import standalone_cluster

pytestmark = [pytest.mark.dbt, pytest.mark.spark]


@pytest.fixture(scope="module")
def on_cluster(duckdb_built, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-cluster")
    with standalone_cluster(folder / "cluster") as (master, work_dirs):
        # The application takes every worker's core: one executor on each.
        # The models only: the data tests run in the local build (test_parity.py),
        # and the equality with DuckDB below is the stronger check.
        results = build_on_spark(
            duckdb_built,
            folder / "spark",
            nights=[END],
            data_tests=False,
            AUDIENCES_SPARK_MASTER=master,
        )
    return duckdb_built, folder / "spark", work_dirs, results


def test_every_model_builds_on_the_cluster(on_cluster):
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
    history = {"marts.segment_membership_history", "marts.customer_id_changes"}
    assert engine_differences(home, spark_dir, skip=history) == {}
