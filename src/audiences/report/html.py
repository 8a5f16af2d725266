"""The run report data engineers review: one HTML page per run and an index.

``reports/<as_of>/report.html`` shows the run's status and stage timings,
the checks that failed (first), what each source read, loaded and quarantined
(with the main reasons), how fresh each source is, every quality check with
its severity and result (failing samples are masked or hashed by the
suites), the segment sizes with their trend over recent runs, the overlap
matrix, per-segment KPIs and holdout lift, and the predictive scores'
quality. ``reports/index.html`` lists every run.

Pages are Jinja2 templates (``templates/``) rendered with autoescaping, so
a status, a stage error or a segment name can never inject markup; the
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

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.measure.lift import MIN_GROUP, read_segment_lift
from audiences.predict.record import read_quality
from audiences.publish.publication import current, read_record
from audiences.quality.drift import accepted_drift
from audiences.quality.results import GateResult, read_gate_result
from audiences.report.charts import bar_chart, line_chart, reliability_chart, sparkline
from audiences.report.models import Models, models
from audiences.report.stages import read_stages
from audiences.transform import freshness_path
from audiences.transform.freshness import judged

GATES = ("raw", "marts", "drift")
HELD_AT = ("raw_gate", "marts_gate", "publish")
TREND_RUNS = 30
STAGE_CLASS = {"success": "ok", "skipped": "warn"}
FRESHNESS_CLASS = {"pass": "ok", "warn": "warn"}
SEGMENT_COLUMNS = (
    "segment", "priority", "members", "primary_members", "audience", "revenue", "aov",
    "open_rate", "click_rate", "not_computable_reason",
)  # fmt: skip

STYLE = Markup((Path(__file__).parent / "report.css").read_text())


def run_status(stages: list[dict]) -> tuple[str, str]:
    """(published|not-published|held|failed|incomplete, why) from the run's recorded stages."""
    failed = [s for s in stages if s["status"] == "failed"]
    if any(s["stage"] == "publish" and s["status"] == "success" for s in stages):
        return "published", "every gate passed; the publication is live"
    skipped = [s for s in stages if s["stage"] == "publish" and s["status"] == "skipped"]
    if skipped and not failed:
        return "not-published", skipped[-1]["error"].split(": ", 1)[-1]
    if failed:
        stage = failed[-1]
        kind = "held" if stage["stage"] in HELD_AT else "failed"
        return kind, f"{stage['stage']}: {stage['error']}"
    return "incomplete", "the run has not reached publish"


def write_run_report(settings: Settings, as_of: date, run_id: str | None = None) -> Path:
    stages, gates, record = _night(settings, as_of, run_id)
    data = _warehouse_facts(settings, as_of)
    quality = read_quality(settings, as_of)
    page = TEMPLATES.get_template("run.html").render(
        **_heading(settings, record),
        failed_checks=[c for g in gates.values() if g for c in g.checks if not c.success],
        stages=stages,
        sources=[_source(*row) for row in data["sources"]],
        reasons=data["reasons"],
        freshness=_freshness(settings, as_of),
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
        charts=_charts(stages, data),
    )
    return _write_run(settings, as_of, page, record)


def write_minimal_report(settings: Settings, as_of: date, run_id: str | None, cause: str) -> Path:
    """The night's page and run.json from what its stages recorded, without opening the
    warehouse: for a night whose full report cannot be written (a warehouse still
    locked, a full disk). Small enough for the disk's reserve (audiences.report.reserve)."""
    stages, _, record = _night(settings, as_of, run_id)
    record |= {"report": "short", "report_cause": cause}
    page = TEMPLATES.get_template("minimal.html").render(
        **_heading(settings, record), cause=cause, stages=stages
    )
    return _write_run(settings, as_of, page, record)


def _night(
    settings: Settings, as_of: date, run_id: str | None
) -> tuple[list[dict], dict[str, GateResult | None], dict]:
    """What every page of a night starts from, read from files only: its stages, its
    gates' results and its run.json record (status and why)."""
    stages = read_stages(settings, as_of, run_id)
    status, why = run_status(stages)
    gates = {gate: read_gate_result(settings, as_of, gate) for gate in GATES}
    accepted = accepted_drift(gates["drift"])
    if accepted and status == "published":
        why += f"; the run accepted the drift of {', '.join(accepted)} (accept_drift)"
    ran = [g for g in gates.values() if g]
    record = {
        "as_of": as_of.isoformat(),
        "run_id": run_id or (stages[-1]["run_id"] if stages else None),
        "status": status,
        "why": why,
        "seconds": round(sum(s["seconds"] for s in stages), 1),
        "critical_failures": sum(len(g.critical_failures) for g in ran),
        "warnings": sum(len(g.warnings) for g in ran),
    }
    return stages, gates, record


def _heading(settings: Settings, record: dict) -> dict:
    """The template values at the top of a night's page."""
    return {
        "title": f"audiences — {record['as_of']} — {record['status']}",
        "style": STYLE,
        "as_of": record["as_of"],
        "status": record["status"],
        "why": record["why"],
        "run_id": record["run_id"],
        "live": _live(settings),
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


def _warehouse_facts(settings: Settings, as_of: date) -> dict:
    """Everything the report reads from the warehouse, in one read-only session."""
    facts: dict = {
        "sources": [],
        "reasons": [],
        "countries": [],
        "duplicate_lines": None,
        "unattributed_refunds": [],
        "segments": [],
        "trend": {},
        "overlaps": [],
        "kpis": [],
        "lifts": [],
    }
    if not settings.warehouse.exists():
        return facts
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        facts["sources"] = con.execute(
            "select source || '.' || entity, records_read, records_loaded, records_quarantined,"
            " notes from audit.extract_log where logical_date = ? order by 1",
            [as_of],
        ).fetchall()
        facts["reasons"] = con.execute(
            "select source || '.' || entity, reason, count(*) from audit.quarantine"
            " where _logical_date = ? group by all order by 3 desc, 1, 2 limit 10",
            [as_of],
        ).fetchall()
        with models(settings, con) as built:
            facts.update(_model_facts(built, as_of))
    finally:
        con.close()
    return facts


def _model_facts(built: Models, as_of: date) -> dict:
    """What the report shows of the models built as of ``as_of``."""
    facts: dict = {
        "countries": _unmapped_countries(built),
        "duplicate_lines": _duplicate_lines(built),
        "unattributed_refunds": _unattributed_refunds(built, as_of),
    }
    if "segment_memberships" not in built.tables("marts"):
        return facts
    if built.rows("select max(as_of) from marts.dim_customers") != [(as_of,)]:
        return facts
    facts["segments"] = built.rows(
        """
        select
            s.segment, s.priority,
            count(m.customer_id) as members,
            count(m.customer_id) filter (where m.is_primary) as primary_members,
            count(a.customer_id) as audience,
            coalesce(sum(c.net_revenue_eur), 0) as revenue,
            sum(c.net_revenue_eur) / nullif(sum(c.completed_orders), 0) as aov,
            sum(c.email_opens_30d) / nullif(sum(c.emails_sent_30d), 0) as open_rate,
            sum(c.email_clicks_30d) / nullif(sum(c.emails_sent_30d), 0) as click_rate,
            s.not_computable_reason
        from marts.dim_segments as s
        left join marts.segment_memberships as m on m.segment = s.segment
        left join marts.dim_customers as c on c.customer_id = m.customer_id
        left join marts.audience_members as a
            on a.segment = m.segment and a.customer_id = m.customer_id
        where s.status = 'active'
        group by s.segment, s.priority, s.not_computable_reason
        order by s.priority
        """
    )
    trend: dict = {}
    for segment, run_date, members in built.rows(
        f"""
        with recent as (
            select distinct as_of from intermediate.int_segment_membership_snapshots
            where as_of <= ? order by as_of desc limit {TREND_RUNS}
        )
        select segment, as_of, count(*) from intermediate.int_segment_membership_snapshots
        where as_of in (select as_of from recent)
        group by segment, as_of order by as_of
        """,
        [as_of],
    ):
        trend.setdefault(segment, []).append((run_date.isoformat(), members))
    facts["trend"] = trend
    facts["overlaps"] = built.rows(
        "select segment, other_segment, shared_customers, share_of_segment"
        " from marts.segment_overlaps"
    )
    if "segment_kpis" in built.tables("marts"):
        columns = ", ".join(KPI_COLUMNS)
        facts["kpis"] = built.rows(
            f"select segment, window_days, cast(as_of as string), {columns}"
            " from marts.segment_kpis where is_mature order by segment, window_days, as_of"
        )
        facts["lifts"] = read_segment_lift(built, as_of)
    return facts


# The figures of marts.segment_kpis the report shows, each with its trend over the runs.
KPI_COLUMNS = (
    "members",
    "conversion_rate",
    "revenue_per_member_eur",
    "open_rate",
    "click_rate",
    "unsubscribe_rate",
    "churn_rate",
)


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


COUNTRY_MODELS = ("stg_crm__contacts", "stg_shop__customers")


def _unmapped_countries(built: Models) -> list[tuple]:
    """Country values without an ISO code, with why and how many records (staging)."""
    names = [
        name
        for name in COUNTRY_MODELS
        if "country_unmapped_reason" in built.columns("staging", name)
    ]
    if not names:
        return []
    union = " union all ".join(
        f"select country_raw, country_unmapped_reason from staging.{name}" for name in names
    )
    return built.rows(
        f"select country_raw, country_unmapped_reason, count(*) as records from ({union})"
        " where country_unmapped_reason is not null"
        " group by country_raw, country_unmapped_reason order by records desc, 1 limit 25"
    )


def _duplicate_lines(built: Models) -> int | None:
    """Order lines that exactly repeat an earlier line of their order (staging)."""
    if "is_duplicate_line" not in built.columns("staging", "stg_shop__order_items"):
        return None
    query = "select count(*) from staging.stg_shop__order_items where is_duplicate_line"
    return built.rows(query)[0][0]


def _unattributed_refunds(built: Models, as_of: date) -> list[tuple]:
    """The refunds the night delivered that could be tied to no customer (no order of
    anyone's, no shop customer): kept in fct_customer_adjustments, nobody's revenue."""
    if "fct_customer_adjustments" not in built.tables("marts"):
        return []
    return built.rows(
        "select refund_id, order_id, adjustment_type, currency, amount, amount_eur"
        " from marts.fct_customer_adjustments where is_unattributed and load_date = ?"
        " order by refund_id",
        [as_of],
    )


def _live(settings: Settings) -> str:
    """What consumers read now, whatever this run did."""
    live = current(settings)
    if live is None:
        return "Live: nothing is published yet."
    return f"Live: the publication of {read_record(live)['as_of']} ({live.name})."


def _source(name: str, read: int, loaded: int, quarantined: int, notes: str | None) -> dict:
    return {
        "name": name,
        "read": read,
        "loaded": loaded,
        "quarantined": quarantined,
        "share": quarantined / read if read else 0,
        "notes": json.loads(notes or "[]"),
    }


def _freshness(settings: Settings, as_of: date) -> dict | None:
    """dbt source freshness of the night, judged at the end of its date, oldest first."""
    path = freshness_path(settings, as_of)
    if not path.exists():
        return None
    results = json.loads(path.read_text())["results"]
    tables = [judged(r, as_of) for r in results]
    return {
        "snapshot": results[0].get("snapshotted_at", "") if results else "",
        "tables": sorted(tables, key=lambda t: -(t["age_s"] or 0)),
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


def _charts(stages: list[dict], data: dict) -> dict[str, Markup]:
    """The inline SVG charts (charts.py escapes every label it draws)."""
    top = sorted(data["segments"], key=lambda r: -r[2])[:8]
    return {
        "stages": Markup(bar_chart([(s["stage"], s["seconds"]) for s in stages], unit=" s")),
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
        stage_class=lambda status: STAGE_CLASS.get(status, "fail"),
        freshness_class=lambda status: FRESHNESS_CLASS.get(status, "fail"),
    )
    return environment


TEMPLATES = _templates()
