"""Money as real shops record it: sub-penny prices keep their precision, and a currency
the rates table cannot convert is quarantined with the reason."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from audiences.config import settings
from audiences.extract.contracts import SHOP_ORDER_ITEMS, SHOP_ORDERS
from audiences.extract.shop import extract_table, make_engine
from audiences.load import load_results
from tests.conftest import END, ORDERS_DDL, context, warehouse_query

STAMP = "2026-11-22 08:00:00"


def test_sub_penny_prices_and_unknown_currencies(home):
    path = home / "shop.sqlite"
    con = sqlite3.connect(path)
    con.execute(ORDERS_DDL)
    con.execute(
        "create table order_items (order_item_id integer, order_id integer, product_id integer,"
        " quantity integer, unit_price numeric, created_at datetime, updated_at datetime)"
    )
    con.executemany(
        "insert into orders values (?, 10, 'a@example.org', 'paid', ?, 4.2, 0, 0, 4.2, ?, ?)",
        [(1, "GBP", STAMP, STAMP), (2, "XBT", STAMP, STAMP)],
    )
    con.execute("insert into order_items values (1, 1, 7, 1000, '0.0042', ?, ?)", [STAMP, STAMP])
    con.commit()
    con.close()
    engine = make_engine(f"sqlite:///{path}")
    results = [extract_table(context(END), engine, e) for e in (SHOP_ORDERS, SHOP_ORDER_ITEMS)]
    engine.dispose()
    load_results(settings().warehouse, results)

    assert warehouse_query("select reason from audit.quarantine") == [
        ("currency not in seeds/currency_rates.csv",)
    ]
    assert warehouse_query("select unit_price from raw.shop_order_items") == [(Decimal("0.0042"),)]
