"""The SQL functions written in Python, called the way dbt calls them: through DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from audiences.warehouse_functions import register


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    register(connection)
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("ann.lee@example.org", None),
        ("a+tag@example.co.uk", None),
        (".a@b.org", "cannot start with a period"),
        ("a.@b.org", "period immediately before the @-sign"),
        ("a..b@example.org", "two periods in a row"),
        ("a@b.123", "not within a valid top-level domain"),
        ("a@255.255.255.255", "not within a valid top-level domain"),
        ("x" * 65 + "@b.org", "too long before the @-sign"),
        ("jtaylor51 at gmail.com", "must have an @-sign"),
        ("ann@localhost", "should have a period"),
    ],
)
def test_email_validity_is_decided_by_email_validator(con, email, reason):
    found = con.execute("select email_invalid_reason(?)", [email]).fetchone()[0]
    if reason is None:
        assert found is None
    else:
        assert reason in found


def test_no_email_has_no_reason(con):
    assert con.execute("select email_invalid_reason(null)").fetchone() == (None,)
