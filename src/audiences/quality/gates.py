"""Run a quality gate: the GX checkpoint of one stage of the nightly run.

The suites, validation definitions and checkpoints are a GX project in
``expectations/`` (a file data context; its README says how it is laid out).
A gate computes each suite's batch once (:mod:`audiences.quality.batches`,
on either engine), runs the checkpoint ``<gate>_gate`` on them with the run's
parameters (the logical date, the rows the load wrote), builds the Data Docs
pages of its results, and returns every check's result with its severity.
GX computes its metrics with SQL queries in DuckDB; nothing is loaded into
pandas.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.errors import AudiencesError
from audiences.quality import batches
from audiences.quality.results import (
    GateResult,
    check_result,
    small_night,
    write_gate_result,
)

log = logging.getLogger(__name__)


def load_config(expectations_dir: Path) -> dict:
    """What the gates add to the GX project: ``row_counts`` and ``drift`` (gates.yml)."""
    return yaml.safe_load((expectations_dir / "gates.yml").read_text())


def open_context(settings: Settings):
    """The GX file data context of ``expectations/``, on this deployment's warehouse.

    ``great_expectations.yml`` names its paths with ``${AUDIENCES_HOME}``,
    given here from the settings, so the gates follow the same configuration
    as every other step.
    """
    import great_expectations as gx

    from audiences.quality import gx_duckdb  # noqa: F401  (registers ``type: duckdb``)

    return gx.get_context(
        context_root_dir=settings.expectations_dir,
        runtime_environment={
            "AUDIENCES_HOME": str(settings.home),
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
    """Run the checkpoint ``<gate>_gate`` as of ``as_of``; write the results and Data Docs."""
    from great_expectations.core.run_identifier import RunIdentifier

    start = time.perf_counter()
    context = open_context(settings)
    checkpoint = _checkpoint(context, f"{gate}_gate")
    suites = {d.suite.name: d.suite.meta for d in checkpoint.validation_definitions}
    config = load_config(settings.expectations_dir)
    parameters = gate_parameters(settings, suites, as_of, config.get("row_counts", {}))
    min_records = config["small_nights"]["min_records"]
    run_id = RunIdentifier(run_name=run_name or f"{gate}__{as_of.isoformat()}")
    source = context.data_sources.get(DATASOURCE)
    path = Path(source.get_engine().url.database)  # its connection string names the file
    batches.materialize(settings, path, list(suites), as_of, min_records)
    try:
        outcome = checkpoint.run(expectation_parameters=parameters, run_id=run_id)
    finally:
        source.close()
        path.unlink(missing_ok=True)
    _build_data_docs(context, outcome)
    # A source the company does not have (AUDIENCES_SOURCES) is not judged:
    # its raw tables are empty, and its checks are left out of the result.
    judged = {
        name
        for name, meta in suites.items()
        if meta.get("extract_log", {}).get("source") in (None, *settings.enabled_sources)
    }
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


# The datasource of every suite's batch (great_expectations.yml; audiences.quality.batches).
DATASOURCE = "gate_batches"


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
