"""Countries as real exports spell them: every value maps to an ISO code, or is a
known non-country (null, with the reason), or is counted and listed in the report."""

from __future__ import annotations

import sqlite3

import pytest

from audiences.config import settings
from audiences.report.html import write_run_report
from audiences.transform import dbt_build
from tests.conftest import END, extract_and_load, use_sources, warehouse_query

pytestmark = pytest.mark.dbt

SPELLINGS = {
    "EIRE": ("IE", None),
    "RSA": ("ZA", None),
    "Czechia": ("CZ", None),
    "Czech Republic": ("CZ", None),
    "Great Britain": ("GB", None),
    "Holland": ("NL", None),
    "USA": ("US", None),
    "Channel Islands": (None, "a region of several ISO countries (JE, GG)"),
    "European Community": (None, "not a country"),
    "Unspecified": (None, "no country given"),
    "Narnia": (None, "unknown country name"),
}


def test_every_country_maps_or_is_reported(home, sources_through_end):
    use_sources(home, sources_through_end)
    con = sqlite3.connect(home / "sources" / "shop.sqlite")
    ids = [i for (i,) in con.execute("select customer_id from customers order by 1 limit 11")]
    for customer_id, spelling in zip(ids, SPELLINGS, strict=True):
        con.execute(
            "update customers set country = ?, updated_at = '2026-11-22 09:00:00'"
            " where customer_id = ?",
            [spelling, customer_id],
        )
    con.commit()
    con.close()
    extract_and_load(END)
    dbt_build(settings(), END, select="+stg_shop__customers")

    found = dict(
        (raw, (code, reason))
        for raw, code, reason in warehouse_query(
            "select country_raw, country_code, country_unmapped_reason"
            " from staging.stg_shop__customers where country_raw in ?",
            [list(SPELLINGS)],
        )
    )
    assert found == SPELLINGS

    page = write_run_report(settings(), END).read_text()
    assert "Unmapped countries" in page
    for raw in ("Narnia", "Channel Islands", "European Community", "Unspecified"):
        assert raw in page
