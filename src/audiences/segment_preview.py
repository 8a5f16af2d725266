"""Preview a segment: compile it with dbt and run it read-only against the
warehouse's last build, with its size, a masked sample of its members and
its change against the last published audience. Nothing is written to the
warehouse or published (docs/segments.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.publish import last_published
from audiences.segments import Segment, SegmentError, list_segments
from audiences.sql import literal
from audiences.transform import parse_project, run_dbt


def preview_segment(settings: Settings, name: str, sample_size: int = 5) -> str:
    """Size, overlaps, a masked sample and the change against the last published run."""
    if not settings.warehouse.exists():
        raise SegmentError(f"no warehouse at {settings.warehouse}: run the pipeline first")
    as_of = _built_as_of(settings)
    manifest = parse_project(settings, quiet=True)
    segment = next((s for s in list_segments(settings, manifest) if s.name == name), None)
    if segment is None:
        raise SegmentError(
            f"no segment named {name}: `audiences segment list` shows them,"
            " `audiences segment new` creates one"
        )
    # The segment's own SQL, then the same holdout rule segment_memberships applies.
    segment_sql = _compiled(
        run_dbt(settings, ["compile", "--select", name], as_of, manifest, quiet=True)
    )
    members_sql = _compiled(
        run_dbt(
            settings,
            [
                "compile",
                "--inline",
                "select distinct customer_id, {{ audiences.stable_bucket("
                f"\"customer_id || ':{name}:holdout'\") }}}} < 10000 * "
                f"{{{{ audiences.segment_holdout_share(graph.nodes['{segment.unique_id}']) }}}}"
                f" as is_holdout from ({segment_sql}) as segment_members",
            ],
            as_of,
            manifest,
            quiet=True,
        )
    )
    members_sql = _one_query(members_sql, segment)
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        previous = _load_published(con, settings, name, as_of)
        # The segment's SQL is the analyst's text: it may read the warehouse, nothing else.
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        return _preview_report(con, segment, as_of, members_sql, sample_size, previous)
    except duckdb.Error as exc:
        raise SegmentError(
            f"segment {name} ({segment.path}) does not run on the warehouse:"
            f" {type(exc).__name__}: {exc}"
        ) from None
    finally:
        con.close()


def _one_query(sql: str, segment: Segment) -> str:
    """The compiled segment as one SELECT, or the analyst's message."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SegmentError(
            f"segment {segment.name} ({segment.path}) does not parse: {exc}"
        ) from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise SegmentError(
            f"segment {segment.name} ({segment.path}) is not one SELECT query: a segment model"
            " selects its members' customer_id, and nothing else is run"
        )
    return sql


def _built_as_of(settings: Settings) -> date:
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        row = con.execute("select max(as_of) from marts.dim_customers").fetchone()
    except duckdb.CatalogException:
        row = None
    finally:
        con.close()
    if not row or row[0] is None:
        raise SegmentError("the warehouse has no customer profiles yet: run the pipeline first")
    return row[0]


def _compiled(result: Any) -> str:
    if not result.success or not result.result:
        raise SegmentError(f"dbt could not compile the segment: {result.exception or 'see above'}")
    return result.result[0].node.compiled_code


def _preview_report(
    con: duckdb.DuckDBPyConnection,
    segment: Segment,
    as_of: date,
    members_sql: str,
    sample_size: int,
    previous: date | None,
) -> str:
    con.execute(f"create temp table preview_members as {members_sql}")
    size, contactable, audience, primary = con.execute(
        f"""
        select
            count(*),
            count(*) filter (where customers.is_contactable),
            count(*) filter (where customers.is_contactable and not members.is_holdout),
            count(*) filter (where not exists (
                select 1 from marts.segment_memberships as other
                where other.customer_id = members.customer_id
                    and other.segment != ? and other.priority < {int(segment.priority)}
            ))
        from preview_members as members
        left outer join marts.dim_customers as customers using (customer_id)
        """,
        [segment.name],
    ).fetchone()
    lines = [
        f"segment {segment.name} (priority {segment.priority}, {segment.status},"
        f" owner {segment.owner}) as of {as_of} — preview, nothing published",
        f"  rule: {segment.description}",
        "",
        f"  members:      {size:>9,}",
        f"  contactable:  {contactable:>9,}",
        f"  audience:     {audience:>9,}  (contactable, outside the holdout group)",
        f"  primary for:  {primary:>9,}  (no higher-priority segment)",
    ]
    overlaps = con.execute(
        """
        select other.segment, count(*) as shared
        from preview_members as members
        inner join marts.segment_memberships as other using (customer_id)
        where other.segment != ?
        group by other.segment
        order by shared desc, other.segment
        """,
        [segment.name],
    ).fetchall()
    lines += ["", "  overlap with the other segments (last build):"]
    if not overlaps:
        lines.append("    none")
    for other, shared in overlaps:
        share = shared / size if size else 0
        lines.append(f"    {other:<28} {shared:>9,}  {share:>6.1%} of {segment.name}")
    lines += ["", f"  sample (masked, {sample_size} members):"]
    sample = con.execute(
        f"""
        select
            members.customer_id,
            {_masked_email("customers.email")},
            left(customers.first_name, 1) || '.',
            customers.country_code,
            customers.completed_orders,
            customers.days_since_last_order
        from preview_members as members
        left outer join marts.dim_customers as customers using (customer_id)
        order by md5(members.customer_id)
        limit {int(sample_size)}
        """
    ).fetchall()
    lines.append(
        "    customer_id           email            name  country  orders  days_since_order"
    )
    for row in sample:
        lines.append(
            "    "
            + "  ".join(
                str("-" if value is None else value).ljust(width)
                for value, width in zip(row, (20, 16, 4, 7, 6, 3), strict=True)
            )
        )
    lines += ["", _change_against_published(con, previous)]
    return "\n".join(lines)


def _load_published(
    con: duckdb.DuckDBPyConnection, settings: Settings, name: str, as_of: date
) -> date | None:
    """Read the last published audience file of the segment into ``published_members``;
    its date, or None when it was never published."""
    previous = last_published(settings.exports, before=date.fromordinal(as_of.toordinal() + 1))
    published = settings.exports / previous.isoformat() / f"{name}.csv" if previous else None
    if published is None or not published.is_file():
        return None
    con.execute(
        "create temp table published_members as select customer_id"
        f" from read_csv({literal(str(published))}, header = true, all_varchar = true)"
    )
    return previous


def _change_against_published(con: duckdb.DuckDBPyConnection, previous: date | None) -> str:
    if previous is None:
        return "  change: never published before; the whole audience would be new"
    entering, leaving = con.execute(
        """
        with audience as (
            select customer_id from preview_members
            inner join marts.dim_customers using (customer_id)
            where is_contactable and not is_holdout
        )
        select
            (select count(*) from audience anti join published_members using (customer_id)),
            (select count(*) from published_members anti join audience using (customer_id))
        """
    ).fetchone()
    return (
        f"  change against the published run of {previous}: {entering:,} would enter,"
        f" {leaving:,} would leave"
    )


def _masked_email(column: str) -> str:
    """j***@***.com: enough to recognise a pattern, not a person."""
    return f"left({column}, 1) || '***@***.' || split_part({column}, '.', -1)"
