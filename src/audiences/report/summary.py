"""Plain-text summary of a run, read back from the warehouse's audit tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from audiences import warehouse_lock
from audiences.activate.ledger import date_runs
from audiences.config import Settings
from audiences.errors import AudiencesError
from audiences.measure.lift import Lift, read_segment_lift
from audiences.predict.record import read_quality
from audiences.report.models import Models, models


def run_summary(settings: Settings, as_of: date | None = None) -> str:
    facts = _night_facts(settings, as_of)
    as_of = facts.as_of
    lines = [f"audiences run for logical date {as_of} (run id {facts.rows[0][6]})", ""]
    lines += _extract_lines(facts.rows, facts.reasons)
    lines += _profile_lines(facts.profiles)
    lines += _segment_lines(settings, as_of, facts.segments)
    lines += _kpi_lines(facts.kpis)
    lines += _lift_lines(facts.lifts)
    lines += _prediction_lines(read_quality(settings, as_of))
    lines += _sync_lines(date_runs(settings.activation, as_of))
    if facts.built:
        lines += ["", "models (as of the last dbt build):"]
        lines += [f"  {name:<36} {n:>10,} rows" for name, n in facts.built]
    lines += [
        "",
        f"warehouse: {settings.warehouse}",
        f"landing:   {settings.landing}",
        f"reports:   {settings.reports}",
        f"exports:   {settings.exports}",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class _NightFacts:
    """What the summary of one night reads from the warehouse."""

    as_of: date
    rows: list[tuple]  # the extract log's rows of the night
    reasons: list[tuple]  # its main quarantine reasons
    built: list[tuple]
    segments: list[tuple]
    profiles: tuple | None
    kpis: list[tuple]
    lifts: list[Lift]


def _night_facts(settings: Settings, as_of: date | None) -> _NightFacts:
    if not settings.warehouse.exists():
        raise AudiencesError(f"no warehouse at {settings.warehouse}: run the pipeline first")
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        if as_of is None:
            as_of = con.execute("select max(logical_date) from audit.extract_log").fetchone()[0]
        if as_of is None:
            raise AudiencesError("the warehouse has no runs yet")
        rows = con.execute(
            """
            select source, entity, records_read, records_loaded, records_quarantined,
                   coalesce(watermark_to, '-'), run_id
            from audit.extract_log where logical_date = ? order by source, entity
            """,
            [as_of],
        ).fetchall()
        if not rows:
            raise AudiencesError(f"no run for logical date {as_of}")
        reasons = con.execute(
            """
            select source || '.' || entity, reason, count(*) as n
            from audit.quarantine where _logical_date = ?
            group by all order by n desc, 1, 2 limit 8
            """,
            [as_of],
        ).fetchall()
        with models(settings, con) as built_models:
            built, segments, profiles = _model_summary(built_models)
            kpis = _kpi_rows(built_models)
            lifts = read_segment_lift(built_models, as_of)
    finally:
        con.close()
    return _NightFacts(as_of, rows, reasons, built, segments, profiles, kpis, lifts)


def _extract_lines(rows: list[tuple], reasons: list[tuple]) -> list[str]:
    """Per source and entity what the night read, loaded and quarantined, and why."""
    lines = []
    header = ("source.entity", "read", "loaded", "quarantined", "watermark")
    table = [header] + [
        (f"{r[0]}.{r[1]}", f"{r[2]:,}", f"{r[3]:,}", f"{r[4]:,}", r[5]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        lines.append(
            "  ".join(
                cell.ljust(w) if i in (0, 4) else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    total = [sum(r[i] for r in rows) for i in (2, 3, 4)]
    lines.append(f"total: {total[0]:,} read = {total[1]:,} loaded + {total[2]:,} quarantined")
    if reasons:
        lines += ["", "main quarantine reasons:"]
        lines += [f"  {n:>7,}  {entity}: {reason}" for entity, reason, n in reasons]
    return lines


def _profile_lines(profiles: tuple | None) -> list[str]:
    if not profiles:
        return []
    as_of, customers, contactable, buyers, merged, rejected = profiles
    return [
        "",
        f"profiles as of {as_of}: {customers:,} customers, {contactable:,} contactable,"
        f" {buyers:,} with a completed order, {merged:,} joined from several records;"
        f" {rejected:,} identity links refused by the guards",
    ]


def _segment_lines(settings: Settings, as_of: date, segments: list[tuple]) -> list[str]:
    """Each segment's members and, once exported, its audience and its changes."""
    if not segments:
        return []
    manifest_path = settings.exports / as_of.isoformat() / "_manifest.json"
    published = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    exported = published["segments"] if published else {}
    lines = [
        "",
        (
            f"segments and audiences (files in exports/{as_of}; entered and exited"
            f" since {published['previous_published_as_of'] or 'nothing published before'}):"
            if published
            else "segments (audiences not exported yet):"
        ),
        f"  {'prio':>4}  {'segment':<26} {'members':>9} {'primary':>9}"
        f" {'audience':>9} {'entered':>9} {'exited':>9}",
    ]
    for segment, priority, members, primary, not_computable in segments:
        if not_computable:
            lines.append(f"  {priority:>4}  {segment:<26} not computable: {not_computable}")
            continue
        files = exported.get(segment, {})
        counts = [files.get(key) for key in ("audience", "entered", "exited")]
        lines.append(
            f"  {priority:>4}  {segment:<26} {members:>9,} {primary:>9,}"
            + "".join(f" {'-' if n is None else f'{n:,}':>9}" for n in counts)
        )
    return lines


KPI_TREND_RUNS = 4


def _kpi_rows(built: Models) -> list[tuple]:
    """The shortest attribution window's figures of every mature run, oldest first."""
    if "segment_kpis" not in built.tables("marts"):
        return []
    return built.rows(
        "select segment, window_days, cast(as_of as string), members, conversion_rate,"
        " revenue_per_member_eur, open_rate, click_rate from marts.segment_kpis"
        " where is_mature and window_days = (select min(window_days) from marts.segment_kpis)"
        " order by segment, as_of"
    )


def _kpi_lines(rows: list[tuple]) -> list[str]:
    """Per segment: the latest mature run's KPIs, and its conversion over the last runs."""
    if not rows:
        return []
    runs: dict[str, list[tuple]] = {}
    for row in rows:
        runs.setdefault(row[0], []).append(row)
    window = rows[0][1]
    lines = [
        "",
        f"what the segments did ({window} d after the latest run whose window has ended;"
        f" conversion over the last {KPI_TREND_RUNS} such runs):",
        f"  {'segment':<26} {'run':<10} {'members':>8} {'conv.':>6} {'rev./member':>11}"
        f" {'opens':>6} {'clicks':>6}  conversion trend",
    ]
    for segment, series in runs.items():
        _, _, as_of, members, conversion, revenue, opens, clicks = series[-1]
        trend = ", ".join(_pct(r[4]) for r in series[-KPI_TREND_RUNS:]) + " (oldest first)"
        lines.append(
            f"  {segment:<26} {as_of:<10} {members:>8,} {_pct(conversion):>6}"
            f" {_eur(revenue):>11} {_pct(opens):>6} {_pct(clicks):>6}  {trend}"
        )
    return lines


def _sync_lines(runs: list[dict]) -> list[str]:
    """Per destination and segment: sent, updated, removed, skipped (why), failed, time."""
    if not runs:
        return []
    lines = ["", "syncs to the email tools (this date's, per destination; status of the latest):"]
    for run in runs:
        summary = run["summary"]
        seconds = f"{summary['seconds']:.1f} s" if "seconds" in summary else ""
        lines.append(f"  {run['destination']:<20} {run['status']:<10} {seconds}")
        if run["status"] != "running" and not summary.get("segments"):
            lines.append("    nothing new to send")
        for segment, operations in sorted(summary.get("segments", {}).items()):
            lines.append(f"    {segment:<24} {_sync_counts(operations)}")
    return lines


def _sync_counts(operations: dict) -> str:
    from audiences.activate.sync import totals

    counts = totals({"segment": operations})
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(counts["skipped"].items()))
    done = ", ".join(
        f"{name} {counts[name]:,}"
        for name in ("sent", "updated", "removed", "deleted", "failed")
        if counts[name]
    )
    return "; ".join(part for part in (done, f"skipped: {skipped}" if skipped else "") if part)


def _pct(value) -> str:
    return "-" if value is None else f"{float(value):.1%}"


def _eur(value) -> str:
    return "-" if value is None else f"{float(value):,.2f} EUR"


def _lift_lines(lifts: list[Lift]) -> list[str]:
    """Conversion lift of each audience against its holdout, with its 95 % interval."""
    shown = [x for x in lifts if x.comparison == "audience vs holdout" and x.metric == "conversion"]
    if not shown:
        return []
    lines = [
        "",
        "holdout lift in conversion (audience - holdout, 95 % interval; run report: more):",
    ]
    for x in shown:
        head = f"  {x.segment:<26} {x.window_days:>2} d after {x.as_of}"
        head += f"  n={x.n_treated:,}/{x.n_control:,}"
        if x.verdict:
            lines.append(f"{head}  {x.verdict}")
        else:
            lines.append(
                f"{head}  {x.treated:.1%} vs {x.control:.1%}: {x.absolute:+.1%}"
                f" [{x.absolute_low:+.1%}, {x.absolute_high:+.1%}]"
            )
    return lines


def _prediction_lines(quality: dict | None) -> list[str]:
    """Each predictive score: used or why not, and its out-of-time quality."""
    if quality is None:
        return []
    lines = ["", "predictive scores (validated out of time; run report: reliability):"]
    for name, score in quality["scores"].items():
        head = f"  {name:<20} {score['horizon_days']:>2} d  "
        measured = score.get("quality")
        if measured:
            head += (
                f"{score['model']}: AUC {measured['auc']:.3f} (RFM {measured['baseline_auc']:.3f}),"
                f" Brier {measured['brier']:.3f}, top decile {measured['top_decile_rate']:.1%}"
                f" vs {measured['base_rate']:.1%} ({measured['top_decile_lift']:.1f}x); "
            )
        lines.append(head + ("used" if score["used"] else f"not used: {score['reason']}"))
        if score.get("trained_as_of"):
            lines.append(f"{'':<26}{model_history(score)}")
    return lines


def model_history(score: dict) -> str:
    """Which model scored the night, when it was trained, and whether tonight trained it."""
    text = f"scored by {score['version']}, trained as of {score['trained_as_of']}"
    if score["retrained"]:
        return f"{text}; retrained tonight: {score['retrained_because']}"
    return f"{text}; {score['model_age_days']} days old, reused ({score['checked_on']})"


def write_run_summary(settings: Settings, as_of: date, text: str | None = None) -> str:
    """Write the summary (or ``text``) to ``reports/<logical date>/summary.txt``;
    return its path."""
    path = settings.reports / as_of.isoformat() / "summary.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((text or run_summary(settings, as_of)) + "\n")
    return str(path)


def _model_summary(built_models: Models) -> tuple[list, list, tuple | None]:
    """The models' tables with their rows, the segments' sizes and the profiles' counts."""
    built = [
        (f"{schema}.{name}", built_models.rows(f"select count(*) from {schema}.{name}")[0][0])
        for schema in ("marts", "staging")
        for name in sorted(built_models.tables(schema))
    ]
    segments = []
    if "marts.segment_memberships" in dict(built):
        segments = built_models.rows(
            """
            select s.segment, s.priority, count(m.customer_id),
                count(m.customer_id) filter (where m.is_primary), s.not_computable_reason
            from marts.dim_segments as s
            left join marts.segment_memberships as m on m.segment = s.segment
            where s.status = 'active'
            group by s.segment, s.priority, s.not_computable_reason order by s.priority
            """
        )
    profiles = None
    if "marts.dim_customers" in dict(built):
        (profiles,) = built_models.rows(
            """
            select max(as_of), count(*), count(*) filter (where is_contactable),
                count(*) filter (where completed_orders > 0),
                count(*) filter (where crm_contact_count + shop_account_count > 1),
                (select count(*) from intermediate.int_identity_link_rejections)
            from marts.dim_customers
            """
        )
    return built, segments, profiles
