"""The run report data engineers review: one HTML page per run and an index.

``reports/<as_of>/report.html`` shows the run's status and step timings,
the checks that failed (first), what each source read, loaded and quarantined
(with the main reasons), how fresh each source is, every quality check with
its severity and result (failing samples are masked or hashed by the
suites), the segment sizes with their trend over recent runs, the overlap
matrix, per-segment KPIs and holdout lift, and the predictive scores'
quality. ``reports/index.html`` lists every run. The facts come from
:mod:`audiences.report.facts`; this module shapes and renders them.

Pages are Jinja2 templates (``templates/``) rendered with autoescaping, so
a status, a step's error or a segment name can never inject markup; the
charts are inline SVG built by ``charts`` (which escapes its labels). Static
HTML: no scripts, no network. No email address, phone number or name
appears in them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from audiences.config import Settings
from audiences.measure.lift import MIN_GROUP
from audiences.predict.record import read_quality
from audiences.publish.publication import current, read_record
from audiences.quality.results import GateResult
from audiences.report.charts import bar_chart, line_chart, reliability_chart, sparkline
from audiences.report.facts import (
    KPI_COLUMNS,
    TREND_RUNS,
    live_publication,
    night_record,
    read_freshness,
    warehouse_facts,
)

STEP_CLASS = {"success": "ok", "skipped": "warn"}
FRESHNESS_CLASS = {"pass": "ok", "warn": "warn"}
SEGMENT_COLUMNS = (
    "segment", "priority", "members", "primary_members", "audience", "revenue", "aov",
    "open_rate", "click_rate", "not_computable_reason",
)  # fmt: skip

STYLE = Markup((Path(__file__).parent / "report.css").read_text())


def write_run_report(settings: Settings, as_of: date, run_id: str | None = None) -> Path:
    steps, gates, record = night_record(settings, as_of, run_id)
    data = warehouse_facts(settings, as_of)
    quality = read_quality(settings, as_of)
    page = TEMPLATES.get_template("run.html").render(
        **_heading(settings, record),
        failed_checks=[c for g in gates.values() if g for c in g.checks if not c.success],
        steps=steps,
        sources=[_source(*row) for row in data["sources"]],
        reasons=data["reasons"],
        freshness=read_freshness(settings, as_of),
        countries=data["countries"],
        duplicate_lines=data["duplicate_lines"],
        unattributed_refunds=data["unattributed_refunds"],
        gates=[_gate(name, result) for name, result in gates.items()],
        segments=_segments(data),
        overlaps=_overlaps(data["overlaps"]),
        kpis=_kpis(data["kpis"]),
        lifts=[lift.to_dict() for lift in data["lifts"]],
        min_group=MIN_GROUP,
        predictions=_predictions(quality),
        personas=(quality or {}).get("personas"),
        charts=_charts(steps, data),
        syncs=_syncs(settings, as_of),
    )
    return _write_run(settings, as_of, page, record)


def write_minimal_report(settings: Settings, as_of: date, run_id: str | None, cause: str) -> Path:
    """The night's page and run.json from what its steps recorded, without opening the
    warehouse: for a night whose full report cannot be written (a warehouse still
    locked, a full disk). Small enough for the disk's reserve (audiences.report.reserve)."""
    steps, _, record = night_record(settings, as_of, run_id)
    record |= {"report": "short", "report_cause": cause}
    page = TEMPLATES.get_template("minimal.html").render(
        **_heading(settings, record), cause=cause, steps=steps
    )
    return _write_run(settings, as_of, page, record)


def _heading(settings: Settings, record: dict) -> dict:
    """The template values at the top of a night's page."""
    return {
        "title": f"audiences — {record['as_of']} — {record['status']}",
        "style": STYLE,
        "as_of": record["as_of"],
        "status": record["status"],
        "why": record["why"],
        "run_id": record["run_id"],
        "live": live_publication(settings),
    }


def _write_run(settings: Settings, as_of: date, page: str, record: dict) -> Path:
    """Write the run's page and run.json, then the index; return the page's path."""
    folder = settings.reports / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    path.write_text(page)
    (folder / "run.json").write_text(json.dumps(record, indent=2))
    write_index(settings)
    return path


def write_index(settings: Settings) -> Path:
    runs = [
        _still_live(json.loads(path.read_text()), settings)
        for path in sorted(settings.reports.glob("*/run.json"), reverse=True)
    ]
    page = TEMPLATES.get_template("index.html").render(
        title="audiences — runs", style=STYLE, runs=runs
    )
    path = settings.reports / "index.html"
    path.write_text(page)
    return path


def _still_live(run: dict, settings: Settings) -> dict:
    """A published run's line in the index says whether it is still the live one."""
    live = current(settings)
    record = read_record(live) if live else {}
    if run.get("status") != "published" or (record.get("as_of"), record.get("run_id")) == (
        run.get("as_of"),
        run.get("run_id"),
    ):
        return run
    now = f"the publication of {record['as_of']} is live" if record else "nothing is live"
    return {**run, "why": f"every gate passed and it was published; no longer live: {now}"}


def _kpis(rows: list[tuple]) -> list[dict]:
    """Per segment and window: the latest mature run's figures and their trend."""
    series: dict[tuple, list[tuple]] = {}
    for segment, window, as_of, *values in rows:
        series.setdefault((segment, int(window)), []).append((as_of, values))
    table = []
    for (segment, window), runs in sorted(series.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        as_of, latest = runs[-1]
        figures = {}
        for i, name in enumerate(KPI_COLUMNS):
            trend = [float(v[i]) for _, v in runs[-TREND_RUNS:] if v[i] is not None]
            shown = _money if name.endswith("_eur") else _rate if name.endswith("_rate") else None
            figures[name] = {"value": latest[i], "trend": Markup(sparkline(trend, fmt=shown))}
        table.append({"segment": segment, "window_days": window, "as_of": as_of,
                      "runs": len(runs), **figures})  # fmt: skip
    return table


def _source(name: str, read: int, loaded: int, quarantined: int, notes: str | None) -> dict:
    return {
        "name": name,
        "read": read,
        "loaded": loaded,
        "quarantined": quarantined,
        "share": quarantined / read if read else 0,
        "notes": json.loads(notes or "[]"),
    }


def _gate(name: str, result: GateResult | None) -> dict:
    """A gate's checks, failures first; those that compared nothing apart."""
    if result is None:
        return {"name": name, "result": None}
    checks = sorted(result.checks, key=lambda c: (c.success, c.severity != "critical"))
    return {
        "name": name,
        "result": result,
        "compared": [c for c in checks if c.compared],
        "not_compared": [c for c in checks if not c.compared],
    }


def _segments(data: dict) -> list[dict]:
    rows = [dict(zip(SEGMENT_COLUMNS, row, strict=True)) for row in data["segments"]]
    for row in rows:
        trend = [members for _, members in data["trend"].get(row["segment"], [])]
        row["sparkline"] = Markup(sparkline(trend))
    return rows


def _overlaps(overlaps: list[tuple]) -> dict | None:
    if not overlaps:
        return None
    names = sorted({row[0] for row in overlaps})
    share = {(a, b): (n, s) for a, b, n, s in overlaps}
    rows = []
    for a in names:
        cells = []
        for b in names:
            shared, of_row = share.get((a, b), (0, None))
            alpha = 0.0 if of_row is None else min(float(of_row), 1.0)
            cells.append({"other": b, "shared": shared, "alpha": alpha})
        rows.append({"name": a, "cells": cells})
    return {"names": names, "rows": rows}


def _predictions(quality: dict | None) -> list[dict]:
    """Each predictive score's model and quality, with its reliability chart."""
    if quality is None:
        return []
    return [
        {
            "name": name,
            "quality": None,
            "model": None,
            "version": None,
            "trained_as_of": None,
            "retrained": False,
            **score,
            "chart": Markup(reliability_chart(score.get("quality", {}).get("reliability", []))),
        }
        for name, score in quality["scores"].items()
    ]


def _syncs(settings: Settings, as_of: date) -> list[dict]:
    """Per destination its latest sync of the date, one row per segment."""
    from audiences.activate.ledger import date_runs
    from audiences.activate.sync import totals

    out = []
    for run in date_runs(settings.activation, as_of):
        segments = run["summary"].get("segments", {})
        rows = [
            {"segment": name, **totals({name: operations})}
            for name, operations in sorted(segments.items())
        ] or [{"segment": "nothing new to send", **totals({})}]
        seconds = run["summary"].get("seconds")
        out.append(
            {
                "destination": run["destination"],
                "status": run["status"],
                "seconds": seconds,
                "rows": rows,
            }
        )
    return out


def _charts(steps: list[dict], data: dict) -> dict[str, Markup]:
    """The inline SVG charts (charts.py escapes every label it draws)."""
    top = sorted(data["segments"], key=lambda r: -r[2])[:8]
    return {
        "steps": Markup(bar_chart([(s["step"], s["seconds"]) for s in steps], unit=" s")),
        "trend": Markup(line_chart({row[0]: data["trend"].get(row[0], []) for row in top})),
        "audiences": Markup(bar_chart([(row[0], row[4]) for row in data["segments"]])),
    }


def _number(value, digits: int | None = None) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if digits is None else f"{float(value):,.{digits}f}"


def _short(value) -> str:
    if isinstance(value, float):
        value = round(value, 4)
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _money(value) -> str:
    return "-" if value is None else f"{float(value):,.2f} €"


def _rate(value) -> str:
    return "-" if value is None else f"{float(value):.1%}"


def _hours(seconds) -> str:
    return "—" if seconds is None else f"{seconds / 3600:,.1f} h"


def _templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("audiences.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        number=_number,
        short=_short,
        money=_money,
        rate=_rate,
        hours=_hours,
        step_class=lambda status: STEP_CLASS.get(status, "fail"),
        freshness_class=lambda status: FRESHNESS_CLASS.get(status, "fail"),
    )
    return environment


TEMPLATES = _templates()
