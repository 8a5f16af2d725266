"""The facts of a night that the run report shows, read from the run's files
(steps, gate results, freshness, publication) and, in one read-only session,
from the warehouse. :mod:`audiences.report.html` renders them."""

from __future__ import annotations

import json
from datetime import date

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.measure.lift import read_segment_lift
from audiences.publish.publication import current, read_record
from audiences.quality.drift import accepted_drift
from audiences.quality.results import GateResult, read_gate_result
from audiences.report.models import Models, models
from audiences.report.steps import read_steps
from audiences.transform import freshness_path
from audiences.transform.freshness import judged

GATES = ("raw", "marts", "drift")
HELD_AT = ("raw_gate", "marts_gate", "publish")
TREND_RUNS = 30


def run_status(steps: list[dict]) -> tuple[str, str]:
    """(published|not-published|held|failed|incomplete, why) from the run's recorded steps."""
    failed = [s for s in steps if s["status"] == "failed"]
    if any(s["step"] == "publish" and s["status"] == "success" for s in steps):
        return "published", "every gate passed; the publication is live"
    skipped = [s for s in steps if s["step"] == "publish" and s["status"] == "skipped"]
    if skipped and not failed:
        return "not-published", skipped[-1]["error"].split(": ", 1)[-1]
    if failed:
        step = failed[-1]
        kind = "held" if step["step"] in HELD_AT else "failed"
        return kind, f"{step['step']}: {step['error']}"
    return "incomplete", "the run has not reached publish"


def night_record(
    settings: Settings, as_of: date, run_id: str | None
) -> tuple[list[dict], dict[str, GateResult | None], dict]:
    """What every page of a night starts from, read from files only: its steps, its
    gates' results and its run.json record (status and why)."""
    steps = read_steps(settings, as_of, run_id)
    status, why = run_status(steps)
    gates = {gate: read_gate_result(settings, as_of, gate) for gate in GATES}
    accepted = accepted_drift(gates["drift"])
    if accepted and status == "published":
        why += f"; the run accepted the drift of {', '.join(accepted)} (accept_drift)"
    ran = [g for g in gates.values() if g]
    record = {
        "as_of": as_of.isoformat(),
        "run_id": run_id or (steps[-1]["run_id"] if steps else None),
        "status": status,
        "why": why,
        "seconds": round(sum(s["seconds"] for s in steps), 1),
        "critical_failures": sum(len(g.critical_failures) for g in ran),
        "warnings": sum(len(g.warnings) for g in ran),
    }
    return steps, gates, record


def warehouse_facts(settings: Settings, as_of: date) -> dict:
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


def live_publication(settings: Settings) -> str:
    """What consumers read now, whatever this run did."""
    live = current(settings)
    if live is None:
        return "Live: nothing is published yet."
    return f"Live: the publication of {read_record(live)['as_of']} ({live.name})."


def read_freshness(settings: Settings, as_of: date) -> dict | None:
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
