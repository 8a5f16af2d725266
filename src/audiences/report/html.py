"""The run report data engineers review: one HTML page per run and an index.

``reports/<as_of>/report.html`` shows the run's status and stage timings,
what each source read, loaded and quarantined (with the main reasons), every
quality check with its severity and result (failing samples are masked or
hashed by the suites), the segment sizes with their trend over recent runs,
the overlap matrix, and per-segment KPIs. ``reports/index.html`` lists every
run. Pages are static HTML with inline SVG charts: no scripts, no network.
No email address, phone number or name appears in them.
"""

from __future__ import annotations

import json
from datetime import date
from html import escape
from pathlib import Path

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.publish.publication import current, read_record
from audiences.quality.gates import GateResult, read_gate_result
from audiences.report.charts import bar_chart, line_chart, sparkline
from audiences.report.stages import read_stages

GATES = ("raw", "marts", "drift")
HELD_AT = ("raw_gate", "marts_gate", "publish")
TREND_RUNS = 30
STAGE_CLASS = {"success": "ok", "skipped": "warn"}

STYLE = (Path(__file__).parent / "report.css").read_text()


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
    stages = read_stages(settings, as_of, run_id)
    run_id = run_id or (stages[-1]["run_id"] if stages else None)
    status, why = run_status(stages)
    gates = {gate: read_gate_result(settings, as_of, gate) for gate in GATES}
    data = _warehouse_facts(settings, as_of)
    page = _page(settings, as_of, run_id, status, why, stages, gates, data)
    folder = settings.reports / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    path.write_text(page)
    (folder / "run.json").write_text(
        json.dumps(
            {
                "as_of": as_of.isoformat(),
                "run_id": run_id,
                "status": status,
                "why": why,
                "seconds": round(sum(s["seconds"] for s in stages), 1),
                "critical_failures": sum(len(g.critical_failures) for g in gates.values() if g),
                "warnings": sum(len(g.warnings) for g in gates.values() if g),
            },
            indent=2,
        )
        + "\n"
    )
    write_index(settings)
    return path


def write_index(settings: Settings) -> Path:
    runs = []
    for path in sorted(settings.reports.glob("*/run.json"), reverse=True):
        runs.append(json.loads(path.read_text()))
    rows = "".join(
        _row(
            _td(f'<a href="{escape(r["as_of"])}/report.html">{escape(r["as_of"])}</a>'),
            _td(f'<span class="status {r["status"]}">{r["status"]}</span>'),
            _td(f"{r['seconds']:,.0f} s", "num"),
            _td(r["critical_failures"], "num"),
            _td(r["warnings"], "num"),
            _td(escape(r["why"]), "muted"),
            _td(escape(str(r["run_id"])), "muted"),
        )
        for r in runs
    )
    page = _html(
        "audiences — runs",
        "<h1>audiences — nightly runs</h1>"
        '<table><tr><th>logical date</th><th>status</th><th class="num">duration</th>'
        '<th class="num">critical failures</th><th class="num">warnings</th><th>why</th>'
        f"<th>run id</th></tr>{rows}</table>",
    )
    path = settings.reports / "index.html"
    path.write_text(page)
    return path


def _warehouse_facts(settings: Settings, as_of: date) -> dict:
    """Everything the report reads from the warehouse, in one read-only session."""
    facts: dict = {
        "sources": [],
        "reasons": [],
        "countries": [],
        "duplicate_lines": None,
        "segments": [],
        "trend": {},
        "overlaps": [],
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
        facts["countries"] = _unmapped_countries(con)
        facts["duplicate_lines"] = _duplicate_lines(con)
        built = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'marts' and table_name = 'segment_memberships'"
        ).fetchone()[0]
        if (
            built
            and con.execute("select max(as_of) from marts.dim_customers").fetchone()[0] == as_of
        ):
            facts["segments"] = con.execute(
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
                left join marts.segment_memberships as m using (segment)
                left join marts.dim_customers as c using (customer_id)
                left join marts.audience_members as a
                    on a.segment = m.segment and a.customer_id = m.customer_id
                where s.status = 'active'
                group by s.segment, s.priority, s.not_computable_reason
                order by s.priority
                """
            ).fetchall()
            for segment, run_date, members in con.execute(
                """
                select segment, as_of, count(*) from intermediate.int_segment_membership_snapshots
                where as_of in (
                    select distinct as_of from intermediate.int_segment_membership_snapshots
                    where as_of <= ? order by as_of desc limit ?
                )
                group by all order by as_of
                """,
                [as_of, TREND_RUNS],
            ).fetchall():
                facts["trend"].setdefault(segment, []).append((run_date.isoformat(), members))
            facts["overlaps"] = con.execute(
                "select segment, other_segment, shared_customers, share_of_segment"
                " from marts.segment_overlaps"
            ).fetchall()
    finally:
        con.close()
    return facts


COUNTRY_MODELS = ("stg_crm__contacts", "stg_shop__customers")


def _unmapped_countries(con) -> list[tuple]:
    """Country values without an ISO code, with why and how many records (staging)."""
    built = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.columns where table_schema = 'staging'"
            " and column_name = 'country_unmapped_reason'"
        ).fetchall()
        if name in COUNTRY_MODELS
    ]
    if not built:
        return []
    union = " union all ".join(
        f"select country_raw, country_unmapped_reason from staging.{name}" for name in built
    )
    return con.execute(
        f"select country_raw, country_unmapped_reason, count(*) from ({union})"
        " where country_unmapped_reason is not null group by all order by 3 desc, 1 limit 25"
    ).fetchall()


def _duplicate_lines(con) -> int | None:
    """Order lines that exactly repeat an earlier line of their order (staging)."""
    found = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'staging'"
        " and table_name = 'stg_shop__order_items' and column_name = 'is_duplicate_line'"
    ).fetchone()[0]
    if not found:
        return None
    return con.execute(
        "select count(*) from staging.stg_shop__order_items where is_duplicate_line"
    ).fetchone()[0]


def _page(settings, as_of, run_id, status, why, stages, gates, data) -> str:
    body = [
        f"<h1>audiences — run of {as_of.isoformat()}</h1>",
        f'<p><span class="status {status}">{status}</span> {escape(why)}</p>',
        f'<p class="muted">run id {escape(str(run_id))} · <a href="../index.html">all runs</a></p>',
        f"<p>{escape(_live(settings))}</p>",
        '<h2 id="stages">Stages</h2>',
        _stages_table(stages),
        bar_chart([(s["stage"], s["seconds"]) for s in stages], unit=" s"),
        '<h2 id="sources">Sources</h2>',
        _sources(data),
        _countries(data),
        _duplicates(data),
        '<h2 id="quality-checks">Quality checks</h2>',
        _checks(settings, as_of, gates),
        '<h2 id="segments">Segments</h2>',
        _segments(data),
        '<h2 id="overlaps">Overlaps</h2>',
        _overlaps(data),
    ]
    return _html(f"audiences — {as_of.isoformat()} — {status}", "\n".join(body))


def _live(settings: Settings) -> str:
    """What consumers read now, whatever this run did."""
    live = current(settings)
    if live is None:
        return "Live: nothing is published yet."
    return f"Live: the publication of {read_record(live)['as_of']} ({live.name})."


def _stages_table(stages: list[dict]) -> str:
    if not stages:
        return '<p class="muted">no stage recorded</p>'
    rows = "".join(
        f"<tr><td>{escape(s['stage'])}</td><td>{escape(s['started_at'])}</td>"
        f'<td class="num">{s["seconds"]:,.1f} s</td>'
        f'<td class="{STAGE_CLASS.get(s["status"], "fail")}">{s["status"]}</td>'
        f'<td class="muted">{escape(s["error"] or "")}</td></tr>'
        for s in stages
    )
    return (
        '<table><tr><th>stage</th><th>started (UTC)</th><th class="num">duration</th>'
        f"<th>status</th><th>error</th></tr>{rows}</table>"
    )


def _sources(data: dict) -> str:
    if not data["sources"]:
        return '<p class="muted">nothing loaded for this date</p>'
    rows = "".join(
        f'<tr><td>{escape(name)}</td><td class="num">{read:,}</td>'
        f'<td class="num">{loaded:,}</td><td class="num">{quarantined:,}</td>'
        f'<td class="num">{quarantined / read if read else 0:.1%}</td>'
        f'<td class="muted">{"<br>".join(escape(n) for n in json.loads(notes or "[]"))}</td></tr>'
        for name, read, loaded, quarantined, notes in data["sources"]
    )
    reasons = "".join(
        f'<tr><td>{escape(name)}</td><td>{escape(reason)}</td><td class="num">{n:,}</td></tr>'
        for name, reason, n in data["reasons"]
    )
    return (
        '<table><tr><th>source.entity</th><th class="num">read</th><th class="num">loaded</th>'
        f'<th class="num">quarantined</th><th class="num">share</th><th>notes</th></tr>'
        f"{rows}</table>"
        + (
            "<h3>Main quarantine reasons</h3><table><tr><th>source.entity</th><th>reason</th>"
            f'<th class="num">records</th></tr>{reasons}</table>'
            if reasons
            else ""
        )
    )


def _duplicates(data: dict) -> str:
    if not data["duplicate_lines"]:
        return ""
    return (
        f"<p>Order lines repeating an earlier line of their order exactly (same product,"
        f" quantity and price): <strong>{data['duplicate_lines']:,}</strong> — kept, and"
        " counted in <code>fct_orders.duplicate_line_count</code>; the dbt var"
        " <code>collapse_duplicate_order_lines</code> leaves them out of item counts.</p>"
    )


def _countries(data: dict) -> str:
    if not data["countries"]:
        return ""
    rows = "".join(
        f'<tr><td>{escape(raw)}</td><td>{escape(reason)}</td><td class="num">{n:,}</td></tr>'
        for raw, reason, n in data["countries"]
    )
    return (
        '<h3>Unmapped countries</h3><p class="muted">Values without an ISO code (null in the'
        " profiles); add a spelling to seeds/country_aliases.csv to map it.</p>"
        f'<table><tr><th>country as delivered</th><th>why</th><th class="num">records</th></tr>'
        f"{rows}</table>"
    )


def _checks(settings: Settings, as_of: date, gates: dict[str, GateResult | None]) -> str:
    parts = []
    for gate, result in gates.items():
        if result is None:
            parts.append(f'<h3>{gate}</h3><p class="muted">did not run</p>')
            continue
        docs = (
            f' · <a href="data_docs/{gate}/index.html">Great Expectations Data Docs</a>'
            if result.data_docs
            else ""
        )
        verdict = (
            '<span class="ok">passed</span>'
            if result.passed
            else f'<span class="fail">{len(result.critical_failures)} critical failure(s)</span>'
        )
        rows = "".join(
            _row(
                _td(escape(c.suite)),
                _td(escape(c.expectation)),
                _td(escape(c.column or "")),
                _td(c.severity),
                _td(
                    "pass" if c.success else "FAIL",
                    "ok" if c.success else ("fail" if c.severity == "critical" else "warn"),
                ),
                _td(escape(_short(c.observed))),
                _td("" if c.unexpected_count is None else f"{c.unexpected_count:,}", "num"),
                _td(escape(", ".join(map(str, c.sample[:3]))), "muted"),
                _td(escape(c.error or c.notes or ""), "muted"),
            )
            for c in sorted(result.checks, key=lambda c: (c.success, c.severity != "critical"))
        )
        summary = f"{len(result.checks)} checks, {result.seconds:.1f} s"
        parts.append(
            f"<h3>{gate} gate: {verdict} ({summary}){docs}</h3>"
            "<table><tr><th>suite</th><th>expectation</th><th>column</th><th>severity</th>"
            '<th>result</th><th>observed</th><th class="num">unexpected</th>'
            f"<th>sample (masked)</th><th>notes</th></tr>{rows}</table>"
        )
    return "\n".join(parts)


def _segments(data: dict) -> str:
    if not data["segments"]:
        return '<p class="muted">the segments were not built for this date</p>'
    rows = []
    for segment, priority, members, primary, audience, revenue, aov, opens, clicks, why in data[
        "segments"
    ]:
        if why:
            rows.append(
                f'<tr><td class="num">{priority}</td><td>{escape(segment)}</td>'
                f'<td colspan="8" class="muted">not computable: {escape(why)}'
                " (AUDIENCES_SOURCES)</td></tr>"
            )
            continue
        trend = [v for _, v in data["trend"].get(segment, [])]
        rows.append(
            f'<tr><td class="num">{priority}</td><td>{escape(segment)}</td>'
            f'<td class="num">{members:,}</td><td class="num">{primary:,}</td>'
            f'<td class="num">{audience:,}</td><td class="num">{float(revenue):,.0f} €</td>'
            f'<td class="num">{_money(aov)}</td><td class="num">{_rate(opens)}</td>'
            f'<td class="num">{_rate(clicks)}</td><td>{sparkline(trend)}</td></tr>'
        )
    top = sorted(data["segments"], key=lambda r: -r[2])[:8]
    trend_chart = line_chart({row[0]: data["trend"].get(row[0], []) for row in top})
    return (
        '<table><tr><th class="num">priority</th><th>segment</th><th class="num">members</th>'
        '<th class="num">primary</th><th class="num">audience</th>'
        '<th class="num">revenue</th><th class="num">AOV</th><th class="num">open rate</th>'
        f'<th class="num">click rate</th><th>trend</th></tr>{"".join(rows)}</table>'
        "<h3>Members of the largest segments over recent runs</h3>"
        + trend_chart
        + "<h3>Audience sizes</h3>"
        + bar_chart([(row[0], row[4]) for row in data["segments"]])
    )


def _overlaps(data: dict) -> str:
    if not data["overlaps"]:
        return '<p class="muted">no overlap matrix for this date</p>'
    names = sorted({row[0] for row in data["overlaps"]})
    share = {(a, b): (n, s) for a, b, n, s in data["overlaps"]}
    header = "".join(
        f'<th class="num" title="{escape(n)}">{i + 1}</th>' for i, n in enumerate(names)
    )
    rows = []
    for i, a in enumerate(names):
        cells = []
        for b in names:
            n, s = share.get((a, b), (0, None))
            alpha = 0 if s is None else min(float(s), 1)
            cells.append(
                f'<td class="num" style="background: rgba(37, 99, 235, {alpha:.2f})"'
                f' title="{escape(a)} ∩ {escape(b)}: {n:,}">{n:,}</td>'
            )
        rows.append(f"<tr><th>{i + 1}. {escape(a)}</th>{''.join(cells)}</tr>")
    return (
        '<p class="muted">customers in both segments; the shade is the share of the row\'s'
        " segment, the diagonal its size.</p>"
        f"<table><tr><th></th>{header}</tr>{''.join(rows)}</table>"
    )


def _td(value, cls: str | None = None) -> str:
    return f'<td class="{cls}">{value}</td>' if cls else f"<td>{value}</td>"


def _row(*cells: str) -> str:
    return f"<tr>{''.join(cells)}</tr>"


def _html(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def _short(value) -> str:
    if isinstance(value, float):
        value = round(value, 4)
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _money(value) -> str:
    return "-" if value is None else f"{float(value):,.2f} €"


def _rate(value) -> str:
    return "-" if value is None else f"{float(value):.1%}"
