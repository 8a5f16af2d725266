"""The nightly run's steps, as plain functions the Airflow DAG (and the CLI) call.

Each step takes the run's logical date and run id, never the wall clock, so
a re-run or a backfill of date D does exactly what the first run of D did.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

from audiences.config import settings
from audiences.extract import RunContext, extract_source
from audiences.extract.landing import EntityResult, write_manifest
from audiences.load import load_results
from audiences.publish import export_audiences
from audiences.report import write_run_summary
from audiences.transform import dbt_build

log = logging.getLogger(__name__)


def extract_step(source: str, logical_date: date, run_id: str) -> str:
    """Extract one source; return the path of its manifest (small enough for XCom)."""
    ctx = RunContext(settings(), logical_date, run_id)
    results = extract_source(ctx, source)
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


def load_step(manifests: list[str]) -> list[dict]:
    """Load the landed files of every manifest into the warehouse (single writer)."""
    results = [
        EntityResult.from_dict(item)
        for path in manifests
        for item in json.loads(Path(path).read_text())
    ]
    rows = load_results(settings().warehouse, results)
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


def transform_step(logical_date: date, select: str | None = None) -> dict:
    return dbt_build(settings(), logical_date, select)


def export_step(logical_date: date) -> str:
    """Write the audience files of every active segment; return their folder."""
    return str(export_audiences(settings(), logical_date))


def report_step(logical_date: date) -> str:
    """Write the run's summary under ``reports/``; return its path."""
    path = write_run_summary(settings(), logical_date)
    log.info("run summary written to %s", path)
    return path
