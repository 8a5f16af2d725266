"""Segments, memberships, history, audience files and publications on generated data.

One warehouse for the module: DAY_BEFORE built and published, then END built
and published, the way two nightly runs leave it (the gates have their own
tests; here the publication is staged and switched directly).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from audiences.config import DBT_PROJECT_DIR, settings
from audiences.identifiers import google_normalized_email
from audiences.publish import exports as export_module
from audiences.publish import publication
from audiences.publish.exports import ExportError
from audiences.transform import dbt_build, run_dbt
from tests.conftest import DAY_BEFORE, END, extract_and_load, use_sources, warehouse_query

pytestmark = pytest.mark.dbt

DEFAULT_SEGMENTS = {
    "vip",
    "loyal_engaged",
    "new_customer",
    "cart_abandoner",
    "high_purchase_intent",
    "high_propensity",
    "at_risk",
    "churn_risk",
    "churned",
    "re_engagement",
} | {
    f"rfm_{name}"
    for name in (
        "champions",
        "loyal_customers",
        "cannot_lose_them",
        "at_risk",
        "potential_loyalists",
        "promising",
        "new_customers",
        "need_attention",
        "about_to_sleep",
        "hibernating",
        "lost",
    )
}


@pytest.fixture(scope="module")
def nights(tmp_path_factory, sources_day_before, sources_through_end):
    home = tmp_path_factory.mktemp("segments_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIENCES_HOME", str(home))
        for var in ("AUDIENCES_CRM_DIR", "AUDIENCES_WEB_DIR", "AUDIENCES_SHOP_URL"):
            patch.delenv(var, raising=False)
        patch.delenv("AUDIENCES_WAREHOUSE", raising=False)
        patch.delenv("AUDIENCES_DBT_PROJECT_DIR", raising=False)
        for day, sources in ((DAY_BEFORE, sources_day_before), (END, sources_through_end)):
            use_sources(home, sources)
            extract_and_load(day)
            dbt_build(settings(), day)
            _publish(day)
        yield home


def _publish(day) -> Path:
    folder = publication.stage(settings(), day, f"test__{day}")
    publication.publish(settings(), folder)
    return folder


def _csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _export(day) -> Path:
    return settings().exports / day.isoformat()


def test_every_dbt_unit_test_passes(nights):
    """The nightly build leaves unit tests out; here they all run, once."""
    result = run_dbt(settings(), ["test", "--select", "test_type:unit"], END)
    outcomes = {r.node.name: str(r.status) for r in result.result}
    assert result.success, {name: s for name, s in outcomes.items() if s != "pass"}
    segments = {p.stem for p in (DBT_PROJECT_DIR / "models" / "segments").glob("*.sql")}
    tested = {
        getattr(r.node, "model", None) or r.node.tested_node_unique_id.split(".")[-1]
        for r in result.result
    }
    assert segments <= tested  # every default segment has its unit test
    assert len(outcomes) >= 28  # 6 for the profiles, 22 for the segments and audiences


def test_the_default_library_is_active(nights):
    on_disk = {p.stem for p in (DBT_PROJECT_DIR / "models" / "segments").glob("*.sql")}
    assert on_disk == DEFAULT_SEGMENTS
    catalogue = warehouse_query("select segment, status, owner, priority from marts.dim_segments")
    assert {s for s, *_ in catalogue} == DEFAULT_SEGMENTS
    assert all(status == "active" and owner for _, status, owner, _ in catalogue)
    assert len({p for *_, p in catalogue}) == len(catalogue)  # priorities are unique
    in_memberships = {
        s for (s,) in warehouse_query("select distinct segment from marts.segment_memberships")
    }
    assert in_memberships <= DEFAULT_SEGMENTS
    assert {"vip", "new_customer", "re_engagement", "rfm_champions"} <= in_memberships


def test_every_customer_has_exactly_one_primary_segment(nights):
    assert warehouse_query(
        "select count(*) from marts.dim_customers as c"
        " where (select count(*) from marts.segment_memberships as m"
        "        where m.customer_id = c.customer_id and m.is_primary) != 1"
    ) == [(0,)]
    # ... and it is the member segment with the lowest priority number.
    assert warehouse_query(
        "select count(*) from marts.segment_memberships as m"
        " where m.is_primary and m.priority != (select min(priority)"
        "   from marts.segment_memberships as o where o.customer_id = m.customer_id)"
    ) == [(0,)]


def test_sessions_counted_from_the_last_30_days_match_the_whole_history(nights):
    """Web traits sessionise only the last 30 days (and 30 minutes): same counts as all events."""
    assert warehouse_query("""
        with gaps as (
            select customer_id, occurred_at, lag(occurred_at) over (
                partition by customer_id order by occurred_at) as previous_at
            from intermediate.int_customer_web_events
        ),
        starts as (
            select customer_id, occurred_at from gaps
            where previous_at is null or occurred_at > previous_at + interval 30 minute
        ),
        whole_history as (
            select customer_id,
                count(*) filter (where occurred_at >= timestamptz '2026-11-16 00:00:00+00')
                    as sessions_7d,
                count(*) filter (where occurred_at >= timestamptz '2026-10-24 00:00:00+00')
                    as sessions_30d
            from starts group by customer_id
        )
        select count(*), count(*) filter (where w.sessions_30d > 0)
        from whole_history as w
        inner join intermediate.int_customer_web_traits as t using (customer_id)
        where (w.sessions_7d, w.sessions_30d) is distinct from (t.sessions_7d, t.sessions_30d)
    """) == [(0, 0)]
    assert (
        warehouse_query(
            "select count(*) from intermediate.int_customer_web_traits where sessions_30d > 0"
        )[0][0]
        > 100
    )


def test_phone_numbers_are_normalised_through_the_lookup(nights):
    from audiences.warehouse_functions import to_e164

    rows = warehouse_query(
        "select phone_raw, country_code, phone_e164 from intermediate.int_phone_numbers"
    )
    assert [r for r in rows if to_e164(r[0], r[1]) != r[2]] == []
    assert sum(1 for r in rows if r[2]) > 1000
    # Every staged spelling has its lookup row, so no record loses its number.
    assert warehouse_query(
        "select count(*) from (select phone_raw, country_code from staging.stg_crm__contacts"
        " union select phone_raw, country_code from staging.stg_shop__customers) as staged"
        " where phone_raw is not null and not exists (select 1 from intermediate.int_phone_numbers"
        "  as known where known.phone_raw = staged.phone_raw"
        "  and known.country_code is not distinct from staged.country_code)"
    ) == [(0,)]


def test_overlap_matrix_matches_memberships(nights):
    sizes = dict(
        warehouse_query("select segment, count(*) from marts.segment_memberships group by 1")
    )
    diagonal = dict(
        warehouse_query(
            "select segment, shared_customers from marts.segment_overlaps"
            " where segment = other_segment"
        )
    )
    assert {s: n for s, n in diagonal.items() if n} == sizes
    vip_and_new = warehouse_query(
        "select count(*) from marts.segment_memberships as a join marts.segment_memberships as b"
        " using (customer_id) where a.segment = 'vip' and b.segment = 'new_customer'"
    )[0][0]
    assert warehouse_query(
        "select shared_customers from marts.segment_overlaps"
        " where segment = 'vip' and other_segment = 'new_customer'"
    ) == [(vip_and_new,)]
    n = len(DEFAULT_SEGMENTS)
    assert warehouse_query("select count(*) from marts.segment_overlaps") == [(n * n,)]


def test_holdout_share_is_close_to_configured(nights):
    held, total = warehouse_query(
        "select count(*) filter (where is_holdout), count(*) from marts.segment_memberships"
    )[0]
    assert total > 1000
    assert 0.07 < held / total < 0.13  # var segment_holdout_share: 0.1


def test_history_follows_the_nightly_snapshots(nights):
    before = set(
        warehouse_query(
            "select customer_id, segment from intermediate.int_segment_membership_snapshots"
            " where as_of = ?",
            [DAY_BEFORE],
        )
    )
    after = set(
        warehouse_query(
            "select customer_id, segment from intermediate.int_segment_membership_snapshots"
            " where as_of = ?",
            [END],
        )
    )
    assert before - after and after - before  # people moved between segments
    exited = set(
        warehouse_query(
            "select customer_id, segment from marts.segment_membership_history"
            " where entered_on = ? and exited_on = ?",
            [DAY_BEFORE, END],
        )
    )
    entered = set(
        warehouse_query(
            "select customer_id, segment from marts.segment_membership_history"
            " where entered_on = ? and is_current",
            [END],
        )
    )
    stayed = set(
        warehouse_query(
            "select customer_id, segment from marts.segment_membership_history"
            " where entered_on = ? and is_current and runs_in_segment = 2",
            [DAY_BEFORE],
        )
    )
    assert exited == before - after
    assert entered == after - before
    assert stayed == before & after


def test_a_rerun_changes_nothing(nights):
    query = {
        "memberships": "select * exclude (as_of) from marts.segment_memberships order by all",
        "history": "select * from marts.segment_membership_history order by all",
        "snapshots": "select * from intermediate.int_segment_membership_snapshots order by all",
        "audiences": "select * from marts.audience_members order by all",
    }
    first = {name: warehouse_query(sql) for name, sql in query.items()}
    files = {p.name: p.read_bytes() for p in _export(END).glob("*.csv")}
    dbt_build(settings(), END)
    _publish(END)
    assert {name: warehouse_query(sql) for name, sql in query.items()} == first
    assert {p.name: p.read_bytes() for p in _export(END).glob("*.csv")} == files


def test_audience_files_hold_only_contactable_people_outside_the_holdout(nights):
    contactable = {
        c
        for (c,) in warehouse_query(
            "select customer_id from marts.dim_customers where is_contactable"
        )
    }
    holdout = set(
        warehouse_query(
            "select customer_id, segment from marts.segment_memberships where is_holdout"
        )
    )
    manifest = json.loads((_export(END) / "_manifest.json").read_text())
    assert set(manifest["segments"]) == DEFAULT_SEGMENTS
    exported = 0
    for segment, counts in manifest["segments"].items():
        rows = _csv(_export(END) / f"{segment}.csv")
        assert len(rows) == counts["audience"]
        ids = {row["customer_id"] for row in rows}
        assert ids <= contactable, segment
        assert not {(c, segment) for c in ids} & holdout, segment
        assert all(row["email"] and row["ab_group"] in ("A", "B") for row in rows)
        for platform, normalized in (
            ("meta", lambda email: email.strip().lower()),
            ("google", google_normalized_email),
        ):
            path = _export(END) / f"{segment}.{platform}.sha256.csv"
            hashed = sorted(row["email_sha256"] for row in _csv(path))
            assert hashed == sorted(
                hashlib.sha256(normalized(row["email"]).encode()).hexdigest() for row in rows
            ), path
        exported += len(rows)
    assert exported > 100


def test_delta_files_compare_with_the_last_published_run(nights):
    manifest = json.loads((_export(END) / "_manifest.json").read_text())
    assert manifest["previous_published_as_of"] == DAY_BEFORE.isoformat()
    changed = 0
    for segment in manifest["segments"]:
        now = {r["customer_id"] for r in _csv(_export(END) / f"{segment}.csv")}
        was = {r["customer_id"] for r in _csv(_export(DAY_BEFORE) / f"{segment}.csv")}
        entered = {r["customer_id"] for r in _csv(_export(END) / f"{segment}.entered.csv")}
        exited = {r["customer_id"] for r in _csv(_export(END) / f"{segment}.exited.csv")}
        assert entered == now - was, segment
        assert exited == was - now, segment
        changed += len(entered) + len(exited)
    assert changed > 0
    first = json.loads((_export(DAY_BEFORE) / "_manifest.json").read_text())
    assert first["previous_published_as_of"] is None
    assert all(s["entered"] == s["audience"] for s in first["segments"].values())


def test_a_crash_while_staging_leaves_the_live_publication_untouched(nights, monkeypatch):
    live = publication.current(settings())
    published = {p.name: p.read_bytes() for p in _export(END).iterdir()}
    written = []
    real = export_module._write_segment

    def crash_on_third(con, staging, segment, previous):
        written.append(segment)
        if len(written) == 3:
            raise OSError("disk full")
        return real(con, staging, segment, previous)

    monkeypatch.setattr(export_module, "_write_segment", crash_on_third)
    with pytest.raises(OSError, match="disk full"):
        publication.stage(settings(), END, "test__crash")
    assert publication.current(settings()) == live
    assert {p.name: p.read_bytes() for p in _export(END).iterdir()} == published
    assert not list(settings().publications.glob(".staging-*"))


def test_the_published_marts_are_a_copy_consumers_can_read(nights):
    import duckdb

    live = publication.current(settings())
    con = duckdb.connect(str(settings().published / "warehouse.duckdb"), read_only=True)
    try:
        copied = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
        memberships = con.execute("select count(*) from marts.segment_memberships").fetchone()[0]
    finally:
        con.close()
    assert copied == warehouse_query("select count(*) from marts.dim_customers")[0][0]
    assert memberships == warehouse_query("select count(*) from marts.segment_memberships")[0][0]
    assert publication.read_record(live)["as_of"] == END.isoformat()


def test_rollback_returns_to_the_previous_publication(nights):
    live = publication.current(settings())
    history = publication.read_history(settings())
    before = next(e["previous"] for e in reversed(history) if e["publication"] == live.name)
    back = publication.rollback(settings())
    try:
        assert back.name == before
        assert publication.current(settings()) == back
        record = publication.read_record(back)
        manifest = json.loads((settings().exports / record["as_of"] / "_manifest.json").read_text())
        assert manifest["as_of"] == record["as_of"]  # the files switched with the marts
        last = publication.read_history(settings())[-1]
        assert last["action"] == "rollback" and last["previous"] == live.name
    finally:
        publication.publish(settings(), live)
    assert publication.current(settings()) == live


def test_exporting_a_date_the_warehouse_is_not_built_for_is_refused(nights):
    with pytest.raises(ExportError, match=f"built as of {END}"):
        publication.stage(settings(), DAY_BEFORE, "test__stale")


def test_the_marts_gate_catches_an_opted_out_person_in_an_audience(nights, tmp_path, monkeypatch):
    """Force a person who opted out into an audience: the gate must refuse to publish."""
    import shutil

    import duckdb

    from audiences.quality.gates import run_gate
    from audiences.quality.results import QualityGateError, enforce

    tampered = tmp_path / "warehouse.duckdb"
    shutil.copy(settings().warehouse, tampered)
    monkeypatch.setenv("AUDIENCES_WAREHOUSE", str(tampered))
    con = duckdb.connect(str(tampered))
    try:
        victim = con.execute(
            "select customer_id from marts.audience_members order by customer_id limit 1"
        ).fetchone()[0]
        con.execute(
            "update marts.dim_customers set is_opted_in = false, is_contactable = false"
            " where customer_id = ?",
            [victim],
        )
    finally:
        con.close()
    result = run_gate(settings(), "marts", END)
    failed = {(c.suite, c.column) for c in result.critical_failures}
    assert failed == {("marts_audience_members", "is_contactable")}  # and nothing else
    with pytest.raises(QualityGateError, match="is_contactable"):
        enforce(result)
