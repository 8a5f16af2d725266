"""The gates are a GX project in GX's own format, and a gate runs its checkpoint."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from audiences.config import settings
from audiences.extract.contracts import ENTITIES
from audiences.load import ensure_raw_tables
from audiences.quality import gates

GATES = {"raw_gate", "marts_gate"}


@pytest.fixture
def project(home, monkeypatch):
    """The shipped GX project, opened the way GX users open one (environment set)."""
    import great_expectations as gx

    import audiences.quality.gx_duckdb  # noqa: F401  (the project's datasource type)

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
    assert {checkpoint.name for checkpoint in context.checkpoints.all()} == GATES
    # Every suite is validated by exactly one gate, on its batch: a table of the
    # datasource gate_batches computed from the suite's query, on either engine.
    validated = [
        definition
        for name in GATES
        for definition in context.checkpoints.get(name).validation_definitions
    ]
    assert sorted(d.suite.name for d in validated) == sorted(suites)
    for definition in validated:
        asset = definition.batch_definition.data_asset
        assert asset.datasource.name == gates.DATASOURCE
        assert asset.datasource.type == "duckdb"
        assert asset.table_name == asset.name == definition.suite.name
        assert (folder / "batches" / f"{asset.name}.sql").is_file()
    for suite in context.suites.all():
        for expectation in suite.expectations:
            assert expectation.severity.value in ("critical", "warning"), (suite.name, expectation)


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
    """A project whose marts gate checks one suite, on the batch of ``QUERY``."""
    import great_expectations as gx

    folder = home / "expectations"
    shutil.copytree(settings().expectations_dir, folder)
    monkeypatch.setenv("AUDIENCES_EXPECTATIONS_DIR", str(folder))
    (folder / "batches" / "people.sql").write_text(QUERY)
    # GX checks that a new table asset's table exists: the gate computes it later.
    batches = home / "tmp" / "gates" / "batches.duckdb"
    batches.parent.mkdir(parents=True)
    duckdb.connect(str(batches)).execute("create table people (id int)").close()
    context = gates.open_context(settings())
    source = context.data_sources.get(gates.DATASOURCE)
    asset = source.add_table_asset(name="people", table_name="people")
    source.close()
    batches.unlink()
    suite = context.suites.add(
        gx.ExpectationSuite(
            name="people",
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
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name="people",
            data=asset.add_batch_definition_whole_table(name="whole_table"),
            suite=suite,
        )
    )
    context.checkpoints.delete("marts_gate")
    context.checkpoints.add(gx.Checkpoint(name="marts_gate", validation_definitions=[definition]))
    return gates.run_gate(settings(), "marts", date(2026, 11, 22))


def test_a_gate_checks_its_batch_and_leaves_the_warehouse_alone(home, monkeypatch):
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
        c.expectation: (c.success, c.severity, c.observed, c.unexpected_count)
        for c in result.checks
    }
    assert checks["expect_column_values_to_be_unique"] == (False, "critical", None, 2)
    assert checks["expect_column_max_to_be_between"] == (False, "critical", 2, None)
    broken = [c for c in result.checks if c.column == "no_such_column"]
    assert [(c.success, c.severity) for c in broken] == [(False, "warning")]
    assert "no_such_column" in (broken[0].error or "")
    assert not list((home / "tmp" / "gates").iterdir())  # the batches are removed
    tables = duckdb.connect(str(warehouse), read_only=True).sql(
        "select schema_name, table_name from duckdb_tables()"
    )
    assert tables.fetchall() == [("marts", "people")]
    # The project's Data Docs site shows the run.
    assert result.data_docs == str(home / "reports" / "data_docs" / "index.html")
    assert list((home / "reports" / "data_docs" / "validations" / "people").glob("marts__*"))
