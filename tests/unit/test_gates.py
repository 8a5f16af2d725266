"""The gates are a GX project in GX's own format, and a gate runs its checkpoint."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from audiences.config import settings
from audiences.extract.contracts import ENTITIES
from audiences.load import ensure_raw_tables
from audiences.quality import gates, gx_duckdb

GATES = {"raw_gate", "marts_gate"}
FROM_LEDGER = ("raw_quarantine",)


@pytest.fixture
def project(home, monkeypatch):
    """The shipped GX project, opened the way GX users open one (environment set)."""
    import great_expectations as gx

    monkeypatch.setenv("AUDIENCES_WAREHOUSE", str(home / "warehouse.duckdb"))
    folder = settings().expectations_dir
    return folder, gx.get_context(context_root_dir=folder)


def _files(folder):
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


def test_gx_opens_the_project_and_lists_its_suites(project):
    from great_expectations.data_context import FileDataContext

    folder, context = project
    assert isinstance(context, FileDataContext)
    suites = {suite.name for suite in context.suites.all()}
    assert suites == {path.stem for path in (folder / "expectations").glob("*.json")}
    spark_gates = {f"{name}__spark" for name in GATES}
    assert {checkpoint.name for checkpoint in context.checkpoints.all()} == GATES | spark_gates
    # Every suite is validated by exactly one gate, on a batch of the project's datasources.
    validated = [
        definition
        for name in GATES
        for definition in context.checkpoints.get(name).validation_definitions
    ]
    assert sorted(d.suite.name for d in validated) == sorted(suites)
    warehouse = context.data_sources.get("warehouse")
    for definition in validated:
        asset = definition.batch_definition.data_asset
        assert asset.datasource.name in gates.DATASOURCES
        # A materialised batch is computed from the warehouse asset of its name.
        assert warehouse.get_asset(asset.name).query
    for suite in context.suites.all():
        for expectation in suite.expectations:
            assert expectation.severity.value in ("critical", "warning"), (suite.name, expectation)
    # The Spark engine's gates validate the same suites on batches of GX's Spark
    # datasource, each computed by its query in spark/ (the quarantine's from DuckDB).
    for name in GATES:
        on_duckdb = [d.suite.name for d in context.checkpoints.get(name).validation_definitions]
        on_spark = context.checkpoints.get(f"{name}__spark").validation_definitions
        assert [d.suite.name for d in on_spark] == on_duckdb
        for definition in on_spark:
            asset = definition.batch_definition.data_asset
            assert asset.datasource.name == "spark_batches" and asset.name == definition.suite.name
            query = folder / "spark" / f"{asset.name}.sql"
            assert query.is_file() or asset.name in FROM_LEDGER, asset.name


def test_a_night_with_no_rows_passes_and_writes_nothing_into_the_project(project, home):
    folder, _ = project
    before = _files(folder)
    ensure_raw_tables(settings().warehouse, ENTITIES)  # every raw table, empty

    result = gates.run_gate(settings(), "raw", date(2026, 11, 22))

    assert result.passed and not result.warnings and len(result.checks) > 40
    assert {c.suite for c in result.checks} == {
        d.suite.name for d in project[1].checkpoints.get("raw_gate").validation_definitions
    }
    assert _files(folder) == before
    assert list((home / "gx" / "validations").iterdir())  # results are stored with the data


# A window over the table: a batch GX would otherwise compute again in every metric.
QUERY = "select id, count(*) over (partition by id) as copies from marts.people"


def _checks(home, monkeypatch):
    """A project whose marts gate runs the same suite on a materialised and a plain batch."""
    import great_expectations as gx

    folder = home / "expectations"
    shutil.copytree(settings().expectations_dir, folder)
    monkeypatch.setenv("AUDIENCES_EXPECTATIONS_DIR", str(folder))
    batches = home / "tmp" / "gates" / "batches.duckdb"
    batches.parent.mkdir(parents=True)
    duckdb.connect(str(batches)).execute("create table materialised (id int)").close()
    context = gates.open_context(settings())
    warehouse = context.data_sources.get("warehouse")
    assets = {
        "plain": warehouse.add_query_asset(name="plain", query=QUERY),
        "materialised": context.data_sources.get("gate_batches").add_table_asset(
            name="materialised", table_name="materialised"
        ),
    }
    warehouse.add_query_asset(name="materialised", query=QUERY)
    batches.unlink()
    definitions = []
    for name, asset in assets.items():
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=name,
                expectations=[
                    gx.expectations.ExpectColumnValuesToBeUnique(column="id", severity="critical"),
                    gx.expectations.ExpectColumnMaxToBeBetween(
                        column="copies", max_value=1, severity="critical"
                    ),
                    gx.expectations.ExpectColumnValuesToNotBeNull(
                        column="no_such_column", severity="warning"
                    ),
                ],
            )
        )
        batch = asset.add_batch_definition_whole_table(name="whole_table")
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
        )
    context.checkpoints.delete("marts_gate")
    context.checkpoints.add(
        gx.Checkpoint(
            name="marts_gate",
            validation_definitions=definitions,
        )
    )
    for name in gates.DATASOURCES:  # DuckDB: one configuration per file and process
        gx_duckdb.close(context.data_sources.get(name).get_execution_engine())
        context.data_sources.get(name).get_engine().dispose()
    return gates.run_gate(settings(), "marts", date(2026, 11, 22))


def test_materialised_batches_check_the_same_and_leave_the_warehouse_alone(home, monkeypatch):
    warehouse = settings().warehouse
    con = duckdb.connect(str(warehouse))
    # One id twice: the uniqueness and the copies checks both fail.
    con.execute(
        "create schema marts; create table marts.people as"
        " select range % 999 as id from range(1000)"
    )
    con.close()

    result = _checks(home, monkeypatch)

    checks = {
        suite: {
            c.expectation: (c.success, c.severity, c.observed, c.unexpected_count)
            for c in result.checks
            if c.suite == suite
        }
        for suite in ("materialised", "plain")
    }
    assert checks["materialised"] == checks["plain"]
    assert checks["plain"]["expect_column_values_to_be_unique"] == (False, "critical", None, 2)
    assert checks["plain"]["expect_column_max_to_be_between"] == (False, "critical", 2, None)
    broken = [c for c in result.checks if c.column == "no_such_column"]
    assert [(c.success, c.severity) for c in broken] == [(False, "warning")] * 2
    assert all("no_such_column" in (c.error or "") for c in broken)
    assert not list((home / "tmp" / "gates").iterdir())
    tables = duckdb.connect(str(warehouse), read_only=True).sql(
        "select schema_name, table_name from duckdb_tables()"
    )
    assert tables.fetchall() == [("marts", "people")]
    # The project's Data Docs site shows the run.
    assert result.data_docs == str(home / "reports" / "data_docs" / "index.html")
    assert list((home / "reports" / "data_docs" / "validations" / "plain").glob("marts__*"))
