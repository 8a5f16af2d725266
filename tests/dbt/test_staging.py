"""dbt build of the staging layer against a real DuckDB warehouse on small generated data."""

from __future__ import annotations

import json
import os
from datetime import datetime

import duckdb
import pytest

from audiences.config import settings
from audiences.transform import dbt_build
from audiences.transform.dbt import DbtBuildError
from tests.conftest import DAY_BEFORE, END, warehouse_query

pytestmark = pytest.mark.dbt


def test_staging_holds_the_current_version_of_each_record(two_nights):
    statuses = dbt_build(settings(), END, select="+staging")
    assert statuses.get("error", 0) == statuses.get("fail", 0) == 0
    expected = {
        "stg_crm__contacts": "select count(distinct contact_id) from raw.crm_contacts",
        "stg_crm__email_activities": "select count(distinct event_id) from raw.crm_email_activity",
        "stg_web__events": "select count(distinct message_id) from raw.web_events",
        "stg_shop__customers": "select count(distinct customer_id) from raw.shop_customers",
        "stg_shop__orders": "select count(distinct order_id) from raw.shop_orders",
        "stg_shop__order_items": "select count(distinct order_item_id) from raw.shop_order_items",
        "stg_shop__products": "select count(distinct product_id) from raw.shop_products",
    }
    for model, sql in expected.items():
        staged = warehouse_query(f"select count(*) from staging.{model}")[0][0]
        assert staged == warehouse_query(sql)[0][0] > 0, model
    # An order whose status changed shows its latest status.
    latest = warehouse_query("""
        select count(*) from staging.stg_shop__orders as staged
        inner join (
            select order_id, arg_max(status, updated_at) as status
            from raw.shop_orders group by order_id
        ) as raw_latest using (order_id)
        where staged.order_status <> raw_latest.status
    """)
    assert latest == [(0,)]


def test_build_as_of_an_earlier_date_ignores_later_data(two_nights):
    dbt_build(settings(), DAY_BEFORE, select="+staging")
    assert warehouse_query(
        "select max(ordered_at) < '2026-11-22'::timestamptz from staging.stg_shop__orders"
    ) == [(True,)]
    assert warehouse_query("select max(load_date) < '2026-11-22' from staging.stg_web__events") == [
        (True,)
    ]

    end_contacts = warehouse_query(
        "select count(*) from raw.crm_contacts where _logical_date = ?", [END]
    )[0][0]
    assert end_contacts > 0
    staged = warehouse_query("select max(updated_at) from staging.stg_crm__contacts")[0][0]
    assert staged.date() <= DAY_BEFORE


def test_failing_build_names_the_failure(home, sources_through_end):
    with pytest.raises(DbtBuildError, match="stg_"):
        dbt_build(settings(), END, select="+staging")  # nothing loaded: sources are missing


def test_source_freshness_reads_the_business_timestamps(two_nights, monkeypatch):
    from audiences.report.html import write_run_report
    from audiences.transform import freshness_path, source_freshness

    monkeypatch.setenv("AUDIENCES_SOURCES", "crm,shop")  # web disabled: not judged
    con = duckdb.connect(str(settings().warehouse))
    con.execute("delete from raw.shop_order_items")  # an optional table without rows
    con.close()
    statuses = source_freshness(settings(), END)
    results = {
        r["unique_id"].split(".", 2)[-1]: r
        for r in json.loads(freshness_path(settings(), END).read_text())["results"]
    }
    # Refunds and products are rare by nature and not judged.
    assert set(results) == {
        "crm.crm_contacts", "crm.crm_email_activity",
        "shop.shop_customers", "shop.shop_orders", "shop.shop_order_items",
    }  # fmt: skip
    assert sum(statuses.values()) == 5
    newest = warehouse_query("select max(updated_at) from raw.crm_contacts")[0][0]
    contacts = results["crm.crm_contacts"]
    assert datetime.fromisoformat(contacts["max_loaded_at"]) == newest
    activity = warehouse_query("select max(occurred_at) from raw.crm_email_activity")[0][0]
    assert datetime.fromisoformat(results["crm.crm_email_activity"]["max_loaded_at"]) == activity
    # dbt's own artefact judges at the time it ran: the data of END is days old by now.
    assert contacts["status"] == "error" and contacts["max_loaded_at_time_ago_in_s"] > 72 * 3600
    # The night is judged at the end of its date: fresh then, and an empty table says so.
    assert statuses == {"pass": 4, "no rows": 1}
    page = write_run_report(settings(), END).read_text()
    assert "crm.crm_contacts" in page and "error after 72 hours" in page
    assert "age at the end of 2026-11-22" in page and "0001-01-01" not in page
    assert ">no rows<" in page


def test_a_build_leaves_the_process_as_it_found_it(two_nights):
    """dbt's settings (the warehouse path, the memory limit) are set for its command
    only: a later run in the same process, with other settings, must not inherit
    them. And the warehouse file is released: it opens with another configuration."""
    before = dict(os.environ)
    dbt_build(settings(), END, select="+stg_crm__contacts")
    assert {k: v for k, v in os.environ.items() if before.get(k) != v} == {}
    assert set(before) - set(os.environ) == set()
    con = duckdb.connect(str(settings().warehouse), config={"memory_limit": "512MB"})
    assert con.execute("select count(*) from staging.stg_crm__contacts").fetchone()[0] > 0
    con.close()
