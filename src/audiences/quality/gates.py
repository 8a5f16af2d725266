"""Run a quality gate: the GX checkpoint of one stage of the nightly run.

The suites are defined in ``expectations/`` (YAML: a batch query and GX
expectations with a severity each). A gate builds them into GX objects in an
ephemeral context — datasource on the DuckDB warehouse, one query asset,
suite and validation definition per suite, a checkpoint that also builds Data
Docs — runs it, and returns every check's result. The work is SQL in DuckDB:
GX computes its metrics with queries, nothing is loaded into pandas.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.errors import AudiencesError, PermanentError
from audiences.sql import literal

log = logging.getLogger(__name__)

SEVERITIES = ("critical", "warning")
SAMPLE_SIZE = 10


class QualityGateError(PermanentError):
    """A gate found a critical defect: the run must not publish."""


@dataclass
class CheckResult:
    gate: str
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: list = field(default_factory=list)
    notes: str | None = None
    error: str | None = None
    # False when the check had nothing to compare (a new segment's drift).
    compared: bool = True

    @property
    def label(self) -> str:
        return f"{self.suite}: {self.expectation}" + (f"({self.column})" if self.column else "")


@dataclass
class GateResult:
    gate: str
    as_of: str
    checks: list[CheckResult]
    data_docs: str | None
    seconds: float

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "critical"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    @classmethod
    def from_dict(cls, data: dict) -> GateResult:
        return cls(
            gate=data["gate"],
            as_of=data["as_of"],
            checks=[CheckResult(**c) for c in data["checks"]],
            data_docs=data.get("data_docs"),
            seconds=data["seconds"],
        )


def load_config(expectations_dir: Path) -> dict:
    return yaml.safe_load((expectations_dir / "checkpoints.yml").read_text())


def load_suite(name: str, expectations_dir: Path) -> dict:
    path = expectations_dir / "suites" / f"{name}.yml"
    if not path.is_file():
        raise AudiencesError(f"suite {name} is listed in checkpoints.yml but {path} does not exist")
    spec = yaml.safe_load(path.read_text())
    for item in spec["expectations"]:
        if item.get("severity") not in SEVERITIES:
            raise AudiencesError(
                f"{path}: {item.get('type')} needs a severity, one of {', '.join(SEVERITIES)}"
            )
    return spec


def render_query(query: str, as_of: date) -> str:
    """Fill a suite's query placeholders (see expectations/README.md)."""
    end = as_of + timedelta(days=1)

    def masked(match: re.Match) -> str:
        column = match.group(1)
        return f"regexp_replace(regexp_replace({column}, '[A-Za-z]', 'x', 'g'), '[0-9]', '9', 'g')"

    def hashed(match: re.Match) -> str:
        return f"sha256(lower(trim({match.group(1)})))"

    query = re.sub(r"\{masked:([\w.]+)\}", masked, query)
    query = re.sub(r"\{hashed:([\w.]+)\}", hashed, query)
    return query.replace("{as_of}", f"date '{as_of.isoformat()}'").replace(
        "{as_of_end}", f"timestamptz '{end.isoformat()} 00:00:00+00'"
    )


def gate_parameters(
    settings: Settings, suites: dict[str, dict], as_of: date, history: dict
) -> dict:
    """The suite parameters: the date, its end, and per suite the rows the load wrote
    and the fewest rows the trailing nights make plausible (``history``: the
    ``row_counts`` of checkpoints.yml; see :func:`_row_counts`).
    """
    end = as_of + timedelta(days=1)
    parameters: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "as_of_end": f"{end.isoformat()}T00:00:00+00:00",
    }
    con = warehouse_lock.connect(settings.warehouse, read_only=True, config=settings.duckdb_config)
    try:
        for name, spec in suites.items():
            entity = spec.get("extract_log")
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


SUITE_PARAMETERS = ("loaded_rows", "expected_min_rows")


def _parametrise(value: Any, suite: str) -> Any:
    """Name a suite's own parameters after the suite (one checkpoint, many suites)."""
    if isinstance(value, dict):
        if value.get("$PARAMETER") in SUITE_PARAMETERS:
            return {"$PARAMETER": f"{value['$PARAMETER']}__{suite}"}
        return {k: _parametrise(v, suite) for k, v in value.items()}
    if isinstance(value, list):
        return [_parametrise(v, suite) for v in value]
    return value


def _expectation(item: dict, suite: str):
    import great_expectations as gx

    class_name = "".join(part.capitalize() for part in item["type"].split("_"))
    expectation_class = getattr(gx.expectations, class_name, None)
    if expectation_class is None:
        raise AudiencesError(f"suite {suite}: {item['type']} is not a GX expectation")
    return expectation_class(
        **_parametrise(item.get("kwargs", {}), suite),
        severity=item["severity"],
        notes=item.get("notes"),
        meta={"severity": item["severity"]},
    )


def run_gate(settings: Settings, gate: str, as_of: date, run_name: str | None = None) -> GateResult:
    """Validate every suite of ``gate`` as of ``as_of``; write the results and Data Docs."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    from audiences.quality import gx_duckdb

    gx_duckdb.apply()
    start = time.perf_counter()
    config = load_config(settings.expectations_dir)
    if gate not in config["gates"]:
        raise AudiencesError(f"no gate {gate!r} in expectations/checkpoints.yml")
    suites = {
        name: load_suite(name, settings.expectations_dir)
        for name in config["gates"][gate]["suites"]
    }
    # A source the company does not have (AUDIENCES_SOURCES) has nothing to check.
    suites = {
        name: spec
        for name, spec in suites.items()
        if spec.get("extract_log", {}).get("source") in (None, *settings.enabled_sources)
    }
    # Before GX opens the warehouse: DuckDB allows one configuration per file and process.
    parameters = gate_parameters(settings, suites, as_of, config.get("row_counts", {}))

    queries = {name: render_query(spec["query"], as_of) for name, spec in suites.items()}
    batches = _materialize(
        settings,
        gate,
        {name: queries[name] for name, spec in suites.items() if spec.get("materialize")},
    )

    context = gx.get_context(mode="ephemeral")
    warehouse = context.data_sources.add_sql(
        name="warehouse",
        connection_string=f"duckdb:///{settings.warehouse}",
        kwargs={"connect_args": {"read_only": True, "config": settings.duckdb_config}},
    )
    if batches:
        materialized = context.data_sources.add_sql(
            name="materialized",
            connection_string=f"duckdb:///{batches}",
            kwargs={"connect_args": {"read_only": True, "config": settings.duckdb_config}},
        )
    definitions = []
    for name, spec in suites.items():
        if spec.get("materialize"):
            asset = materialized.add_query_asset(name=name, query=f"select * from {name}")
        else:
            asset = warehouse.add_query_asset(name=name, query=queries[name])
        batch = asset.add_batch_definition_whole_table(name=f"{name}__batch")
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=name,
                expectations=[_expectation(item, name) for item in spec["expectations"]],
                meta={"description": spec.get("description", "")},
            )
        )
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
        )
    docs = settings.reports / as_of.isoformat() / "data_docs" / gate
    context.add_data_docs_site(
        site_name=gate,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{gate}_gate",
            validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[gate])],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
        )
    )
    try:
        outcome = checkpoint.run(
            expectation_parameters=parameters,
            run_id=RunIdentifier(run_name=run_name or f"{gate}__{as_of.isoformat()}"),
        )
    finally:
        for datasource in context.data_sources.all().values():
            gx_duckdb.close(datasource.get_execution_engine())
            datasource.get_engine().dispose()
        if batches:
            batches.unlink()
    checks = []
    for validation in outcome.run_results.values():
        suite_name = validation.suite_name
        for result in validation.results:
            config_ = result.expectation_config
            error = _exception_message(result.exception_info)
            details = result.result or {}
            checks.append(
                CheckResult(
                    gate=gate,
                    suite=suite_name,
                    expectation=config_.type,
                    column=config_.kwargs.get("column"),
                    severity=str(config_.severity.value if config_.severity else "critical"),
                    success=bool(result.success) and error is None,
                    observed=_plain(details.get("observed_value")),
                    unexpected_count=details.get("unexpected_count"),
                    unexpected_percent=details.get("unexpected_percent"),
                    sample=[_plain(v) for v in details.get("partial_unexpected_list", [])][
                        :SAMPLE_SIZE
                    ],
                    notes=config_.notes,
                    error=error,
                )
            )
    gate_result = GateResult(
        gate=gate,
        as_of=as_of.isoformat(),
        checks=checks,
        data_docs=str(docs / "index.html") if (docs / "index.html").exists() else None,
        seconds=round(time.perf_counter() - start, 2),
    )
    path = gate_result_path(settings, as_of, gate)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gate_result.to_dict(), indent=2, default=str) + "\n")
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


def _materialize(settings: Settings, gate: str, queries: dict[str, str]) -> Path | None:
    """Run each query once into a table of a scratch DuckDB file; return its path.

    GX runs a suite's batch query again inside each metric it computes (15-40
    a suite): a suite marked ``materialize`` (a query that joins or aggregates
    millions of rows) is validated on a table computed once. GX's own
    ``create_temp_table`` cannot serve here: its column metadata queries open
    new connections, which do not see a connection's temporary tables. The
    warehouse stays read-only; the file is removed after the gate.
    """
    import duckdb

    if not queries:
        return None
    path = settings.home / "tmp" / "gates" / f"{gate}_batches.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path), config=settings.duckdb_config)
    try:
        con.execute(f"attach {literal(str(settings.warehouse))} as warehouse (read_only)")
        con.execute("use warehouse")  # the suites' queries name schema.table
        for name, query in queries.items():
            con.execute(f"create table {path.stem}.main.{name} as {query}")
    finally:
        con.close()
    return path


def gate_result_path(settings: Settings, as_of: date, gate: str) -> Path:
    return settings.reports / as_of.isoformat() / "gates" / f"{gate}.json"


def read_gate_result(settings: Settings, as_of: date, gate: str) -> GateResult | None:
    path = gate_result_path(settings, as_of, gate)
    return GateResult.from_dict(json.loads(path.read_text())) if path.is_file() else None


def enforce(result: GateResult) -> None:
    """Raise if the gate found a critical defect, naming each failed check."""
    if result.passed:
        return
    lines = [
        f"  {check.label}: observed {check.observed!r}"
        + (f", {check.unexpected_count} unexpected" if check.unexpected_count else "")
        + (f" ({check.error})" if check.error else "")
        for check in result.critical_failures
    ]
    raise QualityGateError(
        f"the {result.gate} gate failed {len(lines)} critical check(s) as of {result.as_of};"
        " nothing is published:\n" + "\n".join(lines)
    )


def _exception_message(info: Any) -> str | None:
    """The error a check raised, if any. GX reports it either flat or keyed by the
    metric that failed (``{"MetricConfigurationID(...)": {...}}``)."""
    if not isinstance(info, dict):
        return None
    found = (
        [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    )
    messages = [str(e.get("exception_message")) for e in found if e.get("raised_exception")]
    return "; ".join(messages) or None


def _plain(value: Any) -> Any:
    """JSON-friendly values (dates, decimals) for the result file."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
