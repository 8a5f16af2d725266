"""The GX-on-DuckDB compatibility fix: without it GX's metrics come back empty."""

from __future__ import annotations

import duckdb
import pytest

from audiences.quality import gx_duckdb


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "create schema marts; create table marts.people as select range as id,"
        " case when range % 10 = 0 then null else 'ab' || range || '@mail.com' end as email"
        " from range(1000)"
    )
    con.close()
    return path


def _validate(path, expectations):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(name="w", connection_string=f"duckdb:///{path}")
    asset = source.add_query_asset(name="people", query="select * from marts.people")
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    return [batch.validate(expectation) for expectation in expectations]


def test_without_the_fix_gx_gets_no_metrics_from_duckdb(warehouse):
    import great_expectations as gx

    gx_duckdb.remove()
    try:
        (result,) = _validate(warehouse, [gx.expectations.ExpectTableRowCountToEqual(value=1000)])
    finally:
        gx_duckdb.apply()
    assert not result.success
    assert result.result == {}  # "Observed: N/A": the bug the fix is for


def test_with_the_fix_metrics_regex_and_errors_behave(warehouse):
    import great_expectations as gx

    gx_duckdb.apply()
    gx_duckdb.apply()  # idempotent
    count, nulls, regex, broken, after = _validate(
        warehouse,
        [
            gx.expectations.ExpectTableRowCountToEqual(value=1000),
            gx.expectations.ExpectColumnValuesToNotBeNull(column="email", mostly=0.95),
            gx.expectations.ExpectColumnValuesToMatchRegex(column="email", regex=r"^ab\d+@"),
            gx.expectations.ExpectColumnValuesToNotBeNull(column="no_such_column"),
            gx.expectations.ExpectColumnValuesToBeUnique(column="id"),
        ],
    )
    assert count.success and count.result["observed_value"] == 1000
    assert not nulls.success and nulls.result["unexpected_count"] == 100
    assert regex.success and regex.result["unexpected_count"] == 0
    assert not broken.success  # a broken expectation fails on its own...
    assert after.success and after.result["unexpected_count"] == 0  # ...and not the next one
