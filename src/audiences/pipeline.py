"""The nightly run's steps, as plain functions the Airflow DAG (and the CLI) call.

Each step takes the run's logical date and run id, never the wall clock, so
a re-run or a backfill of date D does exactly what the first run of D did.
Each records its duration and outcome for the run report.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

from audiences.config import Settings, settings
from audiences.errors import AudiencesError, failure_reason
from audiences.extract import RunContext, extract_source
from audiences.extract.contracts import ENTITIES
from audiences.extract.landing import EntityResult, write_manifest
from audiences.load import ensure_raw_tables, load_results
from audiences.privacy import protect
from audiences.publish.publication import (
    PublishError,
    current,
    prune,
    publish,
    read_record,
    refuse_older,
    stage,
)
from audiences.report import step_timer, write_run_summary
from audiences.transform import dbt_build, source_freshness

log = logging.getLogger(__name__)


def _settings() -> Settings:
    """The settings, with this process's new files made private (audiences.privacy)."""
    config = settings()
    protect(config)
    return config


def extract_step(source: str, as_of: date, run_id: str, shop_url: str | None = None) -> str:
    """Extract one source; return the path of its manifest (small enough for XCom).

    ``shop_url`` (from the deployment's Airflow Connection) overrides
    ``AUDIENCES_SHOP_URL``.
    """
    config = _settings()
    if shop_url:
        config = config.model_copy(update={"shop_url": shop_url})
    ctx = RunContext(config, as_of, run_id)
    with step_timer(config, as_of, run_id, f"extract_{source}") as step:
        results = extract_source(ctx, source)
        read = sum(r.records_read for r in results)
        quarantined = sum(r.records_quarantined for r in results)
        step["done"] = f"{read:,} records read, {quarantined:,} quarantined"
    for r in results:
        log.info(
            "%s.%s: read %s, landed %s, quarantined %s (watermark %s -> %s)%s",
            r.source,
            r.entity,
            r.records_read,
            r.records_loaded,
            r.records_quarantined,
            r.watermark_from,
            r.watermark_to,
            "; " + "; ".join(r.notes) if r.notes else "",
        )
    return str(write_manifest(ctx, source, results))


def erase_step(as_of: date, run_id: str | None = None) -> list[dict]:
    """Carry out the pending erasure requests (audiences.erasure); what each removed."""
    from audiences.erasure.purge import erase_pending

    config = _settings()
    with step_timer(config, as_of, run_id, "erase") as step:
        done = erase_pending(config)
        step["done"] = f"{len(done)} erasure request(s) carried out"
        return done


def load_step(manifests: list[str], as_of: date, run_id: str | None = None) -> list[dict]:
    """Load the landed files of every manifest into the warehouse (single writer)."""
    results = [
        EntityResult.from_dict(item)
        for path in manifests
        for item in json.loads(Path(path).read_text())
    ]
    config = _settings()
    with step_timer(config, as_of, run_id, "load") as step:
        on_spark = config.engine == "spark"
        # On Spark the landing Parquet is the raw layer: DuckDB keeps the accounting.
        rows = load_results(config.warehouse, results, raw_rows=not on_spark)
        disabled = [e for e in ENTITIES if e.source not in config.enabled_sources]
        if on_spark:
            from audiences.spark.raw import stage_raw

            enabled = [e for e in ENTITIES if e.source in config.enabled_sources]
            stage_raw(config, enabled, disabled)
        elif disabled:
            ensure_raw_tables(config.warehouse, disabled)
        step["done"] = f"{sum(row['records_loaded'] for row in rows):,} records loaded"
    return [
        {
            k: str(v) if isinstance(v, date) else v
            for k, v in row.items()
            if k
            in (
                "source",
                "entity",
                "logical_date",
                "records_read",
                "records_loaded",
                "records_quarantined",
            )
        }
        for row in rows
    ]


def transform_step(as_of: date, run_id: str | None = None, selector: str | None = None) -> dict:
    """dbt build as of the date: everything, or one part (dbt_project/selectors.yml).
    The build that ends the night's models also measures the holdout lift into
    marts.segment_lift."""
    from audiences.measure.lift import write_segment_lift

    config = _settings()
    last = selector in (None, "from_scores")
    step = "dbt_build" if last else f"dbt_build_{selector}"
    with step_timer(config, as_of, run_id, step) as facts:
        variables = _features_variables(config, as_of) if selector == "features" else None
        statuses = dbt_build(config, as_of, selector=selector, variables=variables)
        facts["done"] = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        if last:
            lifts = write_segment_lift(config, as_of)
            facts["done"] += f"; {lifts} holdout lift rows"
        return statuses


def _features_variables(config: Settings, as_of: date) -> dict:
    """The features build keeps the training cut-offs only when a score is due to be trained."""
    from audiences.predict.retraining import training_due

    return {"prediction_training_cutoffs": training_due(config, as_of)}


def predict_step(as_of: date, run_id: str | None = None) -> dict:
    """Train, check and apply the predictive scores; return which are used."""
    from audiences.predict.scores import predict

    config = _settings()
    with step_timer(config, as_of, run_id, "predict"):
        return predict(config, as_of)


def freshness_step(as_of: date, run_id: str | None = None) -> dict[str, int]:
    """How fresh each source's business data is (dbt source freshness); never holds the run."""
    config = _settings()
    with step_timer(config, as_of, run_id, "source_freshness"):
        return source_freshness(config, as_of)


def gate_step(gate: str, as_of: date, run_id: str | None = None) -> dict:
    """Run a quality gate; raise (holding the publish) on a critical failure."""
    from audiences.quality.gates import run_gate
    from audiences.quality.results import enforce

    config = _settings()
    with step_timer(config, as_of, run_id, f"{gate}_gate") as step:
        result = run_gate(config, gate, as_of)
        step["done"] = f"{len(result.checks)} checks, {len(result.warnings)} warnings"
        enforce(result)
    return {
        "gate": gate,
        "checks": len(result.checks),
        "warnings": [check.label for check in result.warnings],
        "data_docs": result.data_docs,
    }


def stage_step(as_of: date, run_id: str) -> str:
    """Stage the run's publication (marts copy + audience files); return its folder."""
    config = _settings()
    with step_timer(config, as_of, run_id, "stage_publication"):
        return str(stage(config, as_of, run_id))


def publish_step(
    as_of: date,
    publication: str,
    run_id: str | None = None,
    allow_older: bool = False,
    accept_drift: bool = False,
) -> str:
    """Publish the staged run if every gate passed and no segment drifted too far.

    A run older than the live publication (a backfill) raises
    :class:`StalePublicationError` unless ``allow_older``: it is recorded as a
    skipped publish, not a failure. ``accept_drift`` publishes a deliberate
    change of segment sizes that the drift guard would hold (recorded in the
    drift result and the report).
    """
    from audiences.quality.drift import check_drift, enforce_drift
    from audiences.quality.results import enforce, read_gate_result

    config = _settings()
    with step_timer(config, as_of, run_id, "publish"):
        refuse_older(config, as_of, allow_older)
        for gate in ("raw", "marts"):
            result = read_gate_result(config, as_of, gate)
            if result is None:
                raise PublishError(f"the {gate} gate has not run for {as_of}: not publishing")
            enforce(result)
        folder = Path(publication)
        live = current(config)
        drift = check_drift(
            config,
            as_of,
            read_record(folder),
            read_record(live) if live else None,
            live.name if live else None,
            accept=accept_drift,
        )
        enforce_drift(drift, as_of)
        publish(config, folder, allow_older)
    return str(folder)


def prune_step(keep: int = 7) -> list[str]:
    """Delete old publications (never the live one)."""
    return prune(_settings(), keep)


def report_step(as_of: date, run_id: str | None = None) -> str:
    """Write the run's summary and HTML report under ``reports/``; return the HTML's path.

    Whatever failed, the night gets a page: when the full report cannot be
    written (the warehouse still locked, a full disk), a short one from what
    the steps recorded, in the disk space kept in reserve for it.
    """
    import duckdb

    from audiences.report.html import write_minimal_report, write_run_report
    from audiences.report.reserve import keep_reserve, with_reserve

    config = _settings()
    try:
        try:
            write_run_summary(config, as_of)
        except AudiencesError as exc:  # nothing loaded: the HTML report says why
            write_run_summary(config, as_of, f"nothing was loaded for {as_of}: {exc}")
        path = write_run_report(config, as_of, run_id)
    except (AudiencesError, OSError, duckdb.Error) as exc:
        cause = failure_reason(exc)
        log.warning("the full run report could not be written (%s): writing a short one", cause)
        path = with_reserve(config, lambda: write_minimal_report(config, as_of, run_id, cause))
    keep_reserve(config)
    log.info("run report written to %s", path)
    return str(path)
