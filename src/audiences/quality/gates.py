"""Run a quality gate: the GX checkpoint of one stage of the nightly run.

The suites, validation definitions and checkpoints are a GX project in
``expectations/`` (a file data context; its README says how it is laid out).
A gate opens it on this deployment's warehouse, runs the checkpoint
``<gate>_gate`` with the run's parameters (the logical date, the rows the
load wrote), builds the Data Docs pages of its results, and returns every
check's result with its severity. The work is SQL in DuckDB: GX computes its metrics
with queries, nothing is loaded into pandas.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.errors import AudiencesError
from audiences.quality.results import (
    GateResult,
    check_result,
    small_night,
    write_gate_result,
)
from audiences.sql import literal

log = logging.getLogger(__name__)


def load_config(expectations_dir: Path) -> dict:
    """What the gates add to the GX project: ``row_counts`` and ``drift`` (gates.yml)."""
    return yaml.safe_load((expectations_dir / "gates.yml").read_text())


def open_context(settings: Settings):
    """The GX file data context of ``expectations/``, on this deployment's warehouse.

    ``great_expectations.yml`` names its paths with ``${AUDIENCES_HOME}`` and
    ``${AUDIENCES_WAREHOUSE}``; they are given here from the settings, so the
    gates follow the same configuration as every other step.
    """
    import great_expectations as gx

    return gx.get_context(
        context_root_dir=settings.expectations_dir,
        runtime_environment={
            "AUDIENCES_HOME": str(settings.home),
            "AUDIENCES_WAREHOUSE": str(settings.warehouse),
        },
    )


def gate_parameters(
    settings: Settings, suites: dict[str, dict], as_of: date, history: dict
) -> dict:
    """The suite parameters: the date and its end, and per suite the rows the load wrote
    and the fewest rows the trailing nights make plausible (``suites``: each
    suite's ``meta``; ``history``: the ``row_counts`` of gates.yml; see
    :func:`_row_counts`).
    """
    end = as_of + timedelta(days=1)
    parameters: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "as_of_end": f"{end.isoformat()}T00:00:00+00:00",
    }
    con = warehouse_lock.connect(settings.warehouse, read_only=True, config=settings.duckdb_config)
    try:
        for name, meta in suites.items():
            entity = meta.get("extract_log")
            if entity:
                loaded, min_rows = _row_counts(con, entity, as_of, history)
                parameters[f"loaded_rows__{name}"] = loaded
                parameters[f"expected_min_rows__{name}"] = min_rows
    finally:
        con.close()
    return parameters


def _row_counts(con, entity: dict, as_of: date, history: dict) -> tuple[int, int]:
    """What the load wrote for ``entity`` on ``as_of``, and the fewest rows expected.

    A night that delivered nothing expects nothing (a quiet day is a normal
    day). Otherwise the night should bring at least ``min_share_of_median`` of
    the median of the ``trailing_nights`` before it, once there are
    ``min_nights`` of them; first runs (no watermark: the whole history at
    once) are no measure of a night.
    """
    read, loaded = con.execute(
        "select coalesce(sum(records_read), 0), coalesce(sum(records_loaded), 0)"
        " from audit.extract_log where source = ? and entity = ? and logical_date = ?",
        [entity["source"], entity["entity"], as_of],
    ).fetchone()
    nights, median = con.execute(
        "select count(*), coalesce(median(records_loaded), 0) from ("
        " select records_loaded from audit.extract_log"
        " where source = ? and entity = ? and logical_date < ? and watermark_from is not null"
        " order by logical_date desc limit ?)",
        [entity["source"], entity["entity"], as_of, history.get("trailing_nights", 7)],
    ).fetchone()
    judged = read and nights >= history.get("min_nights", 3)
    min_rows = int(median * history.get("min_share_of_median", 0)) if judged else 0
    return int(loaded), min_rows


def run_gate(settings: Settings, gate: str, as_of: date, run_name: str | None = None) -> GateResult:
    """Run the checkpoint ``<gate>_gate`` (on Spark ``<gate>_gate__spark``) as of ``as_of``;
    write the results and Data Docs."""
    from great_expectations.core.run_identifier import RunIdentifier

    from audiences.quality import gx_duckdb

    gx_duckdb.apply()
    start = time.perf_counter()
    context = open_context(settings)
    # On Spark the gate's checkpoint validates the batches with GX's Spark datasource.
    on_spark = settings.engine == "spark"
    checkpoint = _checkpoint(context, f"{gate}_gate__spark" if on_spark else f"{gate}_gate")
    suites = {d.suite.name: d.suite.meta for d in checkpoint.validation_definitions}
    # Before GX opens the warehouse: DuckDB allows one configuration per file and process.
    history = load_config(settings.expectations_dir).get("row_counts", {})
    parameters = gate_parameters(settings, suites, as_of, history)
    run_id = RunIdentifier(run_name=run_name or f"{gate}__{as_of.isoformat()}")
    if on_spark:
        outcome = _run_on_spark(settings, context, checkpoint, parameters, as_of, run_id)
    else:
        outcome = _run_on_duckdb(settings, context, checkpoint, parameters, as_of, run_id)
    _build_data_docs(context, outcome)
    # A source the company does not have (AUDIENCES_SOURCES) is not judged:
    # its raw tables are empty, and its checks are left out of the result.
    judged = {
        name
        for name, meta in suites.items()
        if meta.get("extract_log", {}).get("source") in (None, *settings.enabled_sources)
    }
    min_records = load_config(settings.expectations_dir)["small_nights"]["min_records"]
    checks = [
        small_night(check_result(gate, validation.suite_name, result), min_records)
        for validation in outcome.run_results.values()
        if validation.suite_name in judged
        for result in validation.results
    ]
    docs = settings.reports / "data_docs" / "index.html"
    gate_result = GateResult(
        gate=gate,
        as_of=as_of.isoformat(),
        checks=checks,
        data_docs=str(docs) if docs.exists() else None,
        seconds=round(time.perf_counter() - start, 2),
    )
    write_gate_result(settings, gate_result)
    log.info(
        "%s gate as of %s: %d checks, %d critical failures, %d warnings (%.1fs)",
        gate,
        as_of,
        len(checks),
        len(gate_result.critical_failures),
        len(gate_result.warnings),
        gate_result.seconds,
    )
    return gate_result


# The project's DuckDB datasources: the warehouse, and the batches computed once per gate.
DATASOURCES = ("warehouse", "gate_batches")


def _run_on_duckdb(settings: Settings, context, checkpoint, parameters, as_of: date, run_id):
    from audiences.quality import gx_duckdb

    # Configured before anything asks for an engine: GX caches a datasource's
    # engine by its connection string alone, whatever the arguments.
    datasources = [context.data_sources.get(name) for name in DATASOURCES]
    for datasource in datasources:
        _session(datasource, settings, as_of)
    batches = _materialize(settings, context, checkpoint, as_of)
    try:
        return checkpoint.run(expectation_parameters=parameters, run_id=run_id)
    finally:
        for datasource in datasources:
            gx_duckdb.close(datasource.get_execution_engine())
            datasource.get_engine().dispose()
        batches.unlink(missing_ok=True)


def _run_on_spark(settings: Settings, context, checkpoint, parameters, as_of: date, run_id):
    from audiences.quality.spark_batches import materialize

    batches = materialize(settings, context, checkpoint, as_of)
    # GX substitutes ${VARIABLES} in connection strings, not in a folder path:
    # each validation definition's datasource is pointed at the run's folder
    # here, in memory, and its asset's file connector built again on it.
    for definition in checkpoint.validation_definitions:
        asset = definition.batch_definition.data_asset
        asset.datasource.base_directory = batches
        asset.datasource._build_data_connector(asset)
    try:
        return checkpoint.run(expectation_parameters=parameters, run_id=run_id)
    finally:
        shutil.rmtree(batches, ignore_errors=True)


def _checkpoint(context, name: str):
    import great_expectations as gx

    try:
        return context.checkpoints.get(name)
    except gx.exceptions.DataContextError as error:
        raise AudiencesError(f"no checkpoint {name} in the GX project: {error}") from error


def _build_data_docs(context, outcome) -> None:
    """Build the Data Docs pages of the gate's results and the site's index, once.

    GX's ``UpdateDataDocsAction`` builds once per suite, and every build
    renders the index of all stored results again: nine times for the raw
    gate, 1.9 s of its 5 s at XS, growing with the nights kept.
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    identifiers = []
    for identifier, result in outcome.run_results.items():
        identifiers += [identifier, ExpectationSuiteIdentifier(name=result.suite_name)]
    context.build_data_docs(resource_identifiers=identifiers)


def _session(datasource, settings: Settings, as_of: date) -> None:
    """Open ``datasource`` read-only with the run's DuckDB settings and ``as_of`` set.

    The raw suites' queries read the logical date as the DuckDB variable
    ``as_of`` (``getvariable('as_of')``). GX keeps a context's datasources in
    memory, so the connection arguments set here are the ones it connects
    with; they are not saved to great_expectations.yml.
    """
    import sqlalchemy as sa

    datasource.kwargs = {"connect_args": {"read_only": True, "config": settings.duckdb_config}}

    statements = night_variables(settings, as_of)

    def set_as_of(connection, _record) -> None:
        for statement in statements:
            connection.execute(statement)

    # GX queries through its execution engine's SQLAlchemy engine and inspects
    # schemas through the datasource's own.
    for engine in (datasource.get_execution_engine().engine, datasource.get_engine()):
        sa.event.listen(engine, "connect", set_as_of)


def night_variables(settings: Settings, as_of: date) -> list[str]:
    """The DuckDB variables the suites' queries read: the logical date, and the
    fewest quarantined records that can hold a night (gates.yml ``small_nights``)."""
    min_records = int(load_config(settings.expectations_dir)["small_nights"]["min_records"])
    return [
        f"set variable as_of = date '{as_of.isoformat()}'",
        f"set variable quarantine_min_records = {min_records}",
    ]


def _materialize(settings: Settings, context, checkpoint, as_of: date) -> Path:
    """Compute the gate's ``gate_batches`` tables from the warehouse; return the file.

    GX runs a suite's batch query again inside each metric it computes (15-40
    a suite): a suite whose query joins or aggregates millions of rows is
    validated on a table of the same name in the datasource ``gate_batches``,
    computed here once from the warehouse query asset of that name. GX's own
    ``create_temp_table`` cannot serve here: its column metadata queries open
    new connections, which do not see a connection's temporary tables. The
    warehouse stays read-only; the file is removed after the gate.
    """
    import duckdb

    warehouse = context.data_sources.get("warehouse")
    batches = context.data_sources.get("gate_batches")
    path = Path(batches.get_engine().url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    names = [
        d.batch_definition.data_asset.name
        for d in checkpoint.validation_definitions
        if d.batch_definition.data_asset.datasource.name == batches.name
    ]
    con = duckdb.connect(str(path), config=settings.duckdb_config)
    try:
        con.execute(f"attach {literal(str(settings.warehouse))} as warehouse (read_only)")
        con.execute("use warehouse")  # the queries name schema.table
        for statement in night_variables(settings, as_of):
            con.execute(statement)
        for name in names:
            query = warehouse.get_asset(name).query
            con.execute(f"create table {path.stem}.main.{name} as {query}")
    finally:
        con.close()
    return path
