"""Shop extraction: incremental on updated_at, status changes re-extracted, drift caught."""

from __future__ import annotations

import sqlite3

import pytest

from audiences.errors import SchemaDriftError, SourceMissingError
from audiences.extract.shop import extract_shop
from tests.conftest import DAY_BEFORE, END, context, extract_and_load, use_sources, warehouse_query


def test_incremental_on_updated_at(home, sources_day_before, sources_through_end):
    use_sources(home, sources_day_before)
    first = extract_and_load(DAY_BEFORE, ["shop"])
    use_sources(home, sources_through_end)
    second = extract_and_load(END, ["shop"])
    orders = second["shop.orders"]
    assert orders.watermark_from == first["shop.orders"].watermark_to
    assert 0 < orders.records_read < first["shop.orders"].records_read
    assert warehouse_query(
        "select min(updated_at) > ?::timestamptz from raw.shop_orders where _logical_date = ?",
        [orders.watermark_from, END],
    ) == [(True,)]
    # An order placed earlier whose status moved on day END is taken again.
    moved = warehouse_query(
        """
        select count(*) from raw.shop_orders as later
        inner join raw.shop_orders as earlier
            on later.order_id = earlier.order_id and earlier._logical_date < later._logical_date
        where later._logical_date = ? and later.status <> earlier.status
        """,
        [END],
    )
    assert moved[0][0] > 0
    assert second["shop.products"].records_read == 0  # nothing changed in the catalogue


def test_rerun_and_counts(home, sources_through_end):
    use_sources(home, sources_through_end)
    first = extract_and_load(END, ["shop"], run="first")
    again = extract_and_load(END, ["shop"], run="again")
    for key in first:
        assert first[key].records_loaded == again[key].records_loaded
        assert again[key].records_read == again[key].records_loaded + again[key].records_quarantined
    counts = warehouse_query("select count(*), count(distinct order_id) from raw.shop_orders")
    assert counts[0][0] == counts[0][1] == first["shop.orders"].records_loaded


def _shop(home):
    return sqlite3.connect(home / "sources" / "shop.sqlite")


def test_retyped_column(home, sources_through_end):
    use_sources(home, sources_through_end)
    con = _shop(home)
    con.executescript("""
        alter table orders rename to orders_old;
        create table orders (order_id integer primary key, customer_id integer, email text,
            status text, currency text, subtotal numeric, shipping numeric, tax numeric,
            total text, created_at text, updated_at text);
        insert into orders select * from orders_old;
    """)
    con.close()
    with pytest.raises(SchemaDriftError, match=r"orders\.total is TEXT.*retyped"):
        extract_shop(context(END))


def test_missing_column_and_extra_column(home, sources_through_end):
    use_sources(home, sources_through_end)
    con = _shop(home)
    con.execute("alter table products add column colour text")
    con.execute("update products set colour = 'red'")
    con.commit()
    products = extract_shop(context(END))[-1]
    assert any("colour" in n for n in products.notes)
    con.execute("alter table customers drop column phone")
    con.commit()
    con.close()
    with pytest.raises(SchemaDriftError, match=r"customers: missing contract column.*phone"):
        extract_shop(context(END))


def test_missing_database_or_table(home, sources_through_end):
    with pytest.raises(SourceMissingError, match="AUDIENCES_SHOP_URL"):
        extract_shop(context(END))
    use_sources(home, sources_through_end)
    con = _shop(home)
    con.execute("drop table order_items")
    con.commit()
    con.close()
    with pytest.raises(SourceMissingError, match="no table 'order_items'"):
        extract_shop(context(END))


def test_bad_rows_are_quarantined(home, sources_through_end):
    use_sources(home, sources_through_end)
    con = _shop(home)
    con.execute("update orders set status = 'lost' where order_id = 1")
    con.execute("update orders set total = 'n/a' where order_id = 2")
    con.commit()
    con.close()
    orders = extract_and_load(END, ["shop"])["shop.orders"]
    assert orders.records_quarantined == 2
    assert warehouse_query(
        "select reason from audit.quarantine where entity = 'orders' order by reason"
    ) == [("invalid decimal in total",), ("unknown status value",)]


def test_refunds_on_no_order(home, sources_through_end):
    """A refund on no order (a customer-level adjustment) loads; one without a
    currency cannot be converted and is quarantined. A shop whose refunds table
    has no customer_id or currency column (added to the contract later) still
    extracts, those columns null."""
    use_sources(home, sources_through_end)
    before = extract_and_load(END, ["shop"], run="before")["shop.refunds"]
    assert before.records_read > 0 and before.records_quarantined == 0
    assert warehouse_query(
        "select count(*), count(customer_id), count(currency) from raw.shop_refunds"
    ) == [(before.records_loaded, 0, 0)]
    con = _shop(home)
    con.executescript(
        """
        alter table refunds rename to refunds_old;
        create table refunds (refund_id integer primary key, order_id integer,
            order_item_id integer, amount numeric not null, reason text,
            created_at text not null, updated_at text not null, customer_id integer,
            currency text);
        insert into refunds select *, null, null from refunds_old;
        drop table refunds_old;
        insert into refunds (refund_id, order_id, order_item_id, amount, reason, created_at,
            updated_at, customer_id, currency)
        values
            (900001, null, null, 20.00, 'credit note C1 M', '2026-11-22 09:00:00',
             '2026-11-22 09:00:00', 7, 'GBP'),
            (900002, null, null, 5.00, 'credit note C2 D', '2026-11-22 09:00:00',
             '2026-11-22 09:00:00', 7, null);
        """
    )
    con.commit()
    con.close()
    refunds = extract_and_load(END, ["shop"], run="after")["shop.refunds"]
    assert refunds.records_quarantined == 1
    assert refunds.records_loaded == before.records_loaded + 1  # the night again, and one
    assert warehouse_query(
        "select refund_id, order_id, customer_id, currency from raw.shop_refunds"
        " where refund_id > 900000"
    ) == [(900001, None, 7, "GBP")]
    reasons = warehouse_query("select reason from audit.quarantine where entity = 'refunds'")
    assert reasons == [("no currency for a refund on no order",)]
