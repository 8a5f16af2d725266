"""The project's GX datasource for DuckDB: GX's generic SQL one gets no metrics from it."""

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


def _source(path, kind: str):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    add = getattr(context.data_sources, f"add_{kind}")
    return add(name="w", connection_string=f"duckdb:///{path}")


def _validate(source, expectations):
    asset = source.add_query_asset(name="people", query="select * from marts.people")
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    return [batch.validate(expectation) for expectation in expectations]


# GX itself then suggests the more specific DuckDBDatasource: the registration works.
@pytest.mark.filterwarnings("ignore:You are using a generic SQLDatasource")
def test_gx_generic_sql_datasource_gets_no_metrics_from_duckdb(warehouse):
    """The canary: when GX fixes this, the project's datasource can go."""
    import great_expectations as gx

    source = _source(warehouse, "sql")
    (result,) = _validate(source, [gx.expectations.ExpectTableRowCountToEqual(value=1000)])
    assert not result.success
    assert result.result == {}  # "Observed: N/A": the bug the datasource is for
    source.get_execution_engine().close()
    source.get_engine().dispose()


def test_the_duckdb_datasource_computes_metrics_regex_and_errors(warehouse):
    import great_expectations as gx

    source = _source(warehouse, "duckdb")
    assert isinstance(source, gx_duckdb.DuckDBDatasource)
    count, nulls, regex, anywhere, broken, after = _validate(
        source,
        [
            gx.expectations.ExpectTableRowCountToEqual(value=1000),
            gx.expectations.ExpectColumnValuesToNotBeNull(column="email", mostly=0.95),
            gx.expectations.ExpectColumnValuesToMatchRegex(column="email", regex=r"^ab\d+@"),
            # A match anywhere in the value, as on GX's other dialects: ids ending in 5.
            gx.expectations.ExpectColumnValuesToMatchRegex(column="email", regex=r"5@"),
            gx.expectations.ExpectColumnValuesToNotBeNull(column="no_such_column"),
            gx.expectations.ExpectColumnValuesToBeUnique(column="id"),
        ],
    )
    assert count.success and count.result["observed_value"] == 1000
    assert not nulls.success and nulls.result["unexpected_count"] == 100
    assert regex.success and regex.result["unexpected_count"] == 0
    assert anywhere.result["unexpected_count"] == 800
    assert not broken.success  # a broken expectation fails on its own...
    assert after.success and after.result["unexpected_count"] == 0  # ...and not the next one
    source.close()
    duckdb.connect(str(warehouse)).close()  # closed: the file opens with another configuration
