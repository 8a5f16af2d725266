"""A gate's suites give the same results whether their batch is materialised or not."""

from __future__ import annotations

from datetime import date

import duckdb

from audiences.config import settings
from audiences.quality import gates

# A window over the table: a batch GX would otherwise compute again in every metric.
QUERY = "select id, count(*) over (partition by id) as copies from marts.people"
EXPECTATIONS = [
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_max_to_be_between", "kwargs": {"column": "copies", "max_value": 1}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "no_such_column"}},
]


def test_materialised_batches_check_the_same_and_leave_the_warehouse_alone(home, monkeypatch):
    warehouse = settings().warehouse
    con = duckdb.connect(str(warehouse))
    # One id twice: the uniqueness and the copies checks both fail.
    con.execute(
        "create schema marts; create table marts.people as"
        " select range % 999 as id from range(1000)"
    )
    con.close()
    suites = {
        name: {
            "query": QUERY,
            "materialize": name == "materialised",
            "expectations": [{**e, "severity": "critical"} for e in EXPECTATIONS],
        }
        for name in ("materialised", "plain")
    }
    monkeypatch.setattr(
        gates, "load_config", lambda folder: {"gates": {"marts": {"suites": [*suites]}}}
    )
    monkeypatch.setattr(gates, "load_suite", lambda name, folder: suites[name])

    result = gates.run_gate(settings(), "marts", date(2026, 11, 22))

    checks = {
        suite: {
            c.expectation: (c.success, c.observed, c.unexpected_count)
            for c in result.checks
            if c.suite == suite
        }
        for suite in suites
    }
    assert checks["materialised"] == checks["plain"]
    assert checks["plain"]["expect_column_values_to_be_unique"] == (False, None, 2)
    assert checks["plain"]["expect_column_max_to_be_between"] == (False, 2, None)
    broken = [c for c in result.checks if c.column == "no_such_column"]
    assert [c.success for c in broken] == [False, False]
    assert all("no_such_column" in (c.error or "") for c in broken)
    assert not list((home / "tmp" / "gates").iterdir())
    tables = duckdb.connect(str(warehouse), read_only=True).sql(
        "select schema_name, table_name from duckdb_tables()"
    )
    assert tables.fetchall() == [("marts", "people")]
