"""Incremental facts: a nightly build equals a full refresh of the same data.

The second night re-delivers an old hour file of web events (the extract
takes it again because it grew): every event in it arrives a second time,
one copy with an earlier ``receivedAt`` than the first delivery (so the new
copy must replace the old one), and one event that is new but happened days
ago (late data).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from audiences.config import settings
from audiences.transform import dbt_build
from audiences.transform.dbt import DbtBuildError, run_dbt
from tests.conftest import DAY_BEFORE, END, extract_and_load, use_sources, warehouse_query

pytestmark = pytest.mark.dbt

OLD_HOUR = "2026/11/18/10.jsonl.gz"
# Built from the history of runs, not from the data: a full refresh starts them
# again (customer_id_changes) or keeps them (segment_membership_history reads
# snapshots that are never refreshed), so they are compared separately.
RUN_LOGS = {"customer_id_changes", "int_customer_id_assignments"}
# Lookups memoised by spelling (libphonenumber's and email-validator's verdicts):
# a spelling no longer staged (a contact changed address) stays known, since its
# verdict depends on nothing else, so a nightly build may hold rows a full
# refresh does not; never fewer, never different ones. Erasure purges them.
MEMOS = {"int_email_addresses", "int_phone_numbers"}


def _redeliver_old_hour(web: Path) -> tuple[str, str]:
    """Append a second delivery to an old hour file; return (re-sent id, late id)."""
    path = web / OLD_HOUR
    first = json.loads(gzip.decompress(path.read_bytes()).split(b"\n")[0])
    resent = {**first, "receivedAt": "2026-11-18T00:00:00.000Z"}
    late = {**first, "messageId": "late-event-1", "timestamp": "2026-11-18T10:59:00.000Z"}
    extra = "\n".join(json.dumps(event) for event in (resent, late)) + "\n"
    with path.open("ab") as handle:  # a second gzip member, as an appending writer does
        handle.write(gzip.compress(extra.encode()))
    return first["messageId"], late["messageId"]


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_catalog = ? and table_type = 'BASE TABLE'"
            " and table_schema in ('staging', 'intermediate', 'segments', 'marts')"
            " order by all",
            [catalog],
        ).fetchall()
    ]


def _differences(built: Path, reference: Path) -> dict[str, tuple[int, int]]:
    """Per table: (rows only in ``built``, rows only in ``reference``), where any."""
    con = duckdb.connect()
    con.execute(f"attach '{built}' as built (read_only)")
    con.execute(f"attach '{reference}' as reference (read_only)")
    tables = _tables(con, "built")
    assert tables == _tables(con, "reference")
    differences = {}
    for table in tables:
        if table.split(".")[1] in RUN_LOGS:
            continue
        only = [
            con.execute(
                f"select count(*) from (select * from {a}.{table} except all"
                f" select * from {b}.{table})"
            ).fetchone()[0]
            for a, b in (("built", "reference"), ("reference", "built"))
        ]
        if table.split(".")[1] in MEMOS:
            only[0] = 0
        if any(only):
            differences[table] = tuple(only)
    con.close()
    return differences


def test_an_incremental_night_builds_the_same_marts_as_a_full_refresh(
    home, sources_day_before, sources_through_end, tmp_path
):
    use_sources(home, sources_day_before)
    extract_and_load(DAY_BEFORE)
    dbt_build(settings(), DAY_BEFORE)
    use_sources(home, sources_through_end)
    resent, late = _redeliver_old_hour(home / "sources" / "web")
    extract_and_load(END)

    dbt_build(settings(), END)
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(settings().warehouse, incremental)

    # The night read only what END loaded: the new copy of the re-sent event
    # replaced the first one, the late event is in, and nothing is twice.
    assert warehouse_query(
        "select event_id, load_date from staging.stg_web__events where event_id in (?, ?)"
        " order by event_id",
        [resent, late],
    ) == sorted([(resent, END), (late, END)])
    assert warehouse_query(
        "select count(*) = count(distinct event_id), min(load_date), max(load_date)"
        " from staging.stg_web__events"
    ) == [(True, DAY_BEFORE, END)]

    dbt_build(settings(), END, full_refresh=True)
    assert _differences(incremental, settings().warehouse) == {}

    # A re-run of the same night (incremental again) changes nothing either.
    dbt_build(settings(), END)
    assert _differences(incremental, settings().warehouse) == {}


def test_a_backfill_rebuilds_the_facts_as_of_its_date(two_nights, tmp_path):
    dbt_build(settings(), DAY_BEFORE)
    as_first_built = tmp_path / "day_before.duckdb"
    shutil.copy(settings().warehouse, as_first_built)
    dbt_build(settings(), END)

    # Run by hand without --full-refresh, dbt refuses rather than mixing nights.
    with pytest.raises(DbtBuildError, match="full-refresh"):
        result = run_dbt(settings(), ["run", "--select", "stg_web__events"], DAY_BEFORE)
        if not result.success:
            raise DbtBuildError(str([r.message for r in result.result]))

    # The nightly runner sees the backfill itself, in both parts of the night's build
    # (the first part's full refresh must not hide it from the second).
    dbt_build(settings(), DAY_BEFORE, selector="features")
    dbt_build(settings(), DAY_BEFORE, selector="from_scores")
    assert warehouse_query("select max(load_date) from staging.stg_web__events") == [(DAY_BEFORE,)]
    differences = _differences(settings().warehouse, as_first_built)
    # Segment history keeps END's snapshot (a backfill never erases later runs).
    assert set(differences) <= {"intermediate.int_segment_membership_snapshots"}
