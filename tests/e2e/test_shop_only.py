"""A company with only a shop, and a shop's real history: 2011 invoices with partial
returns, credit notes, guest checkouts, sub-penny prices, duplicate lines and legacy
country names, run by Airflow for a 2011 logical date with only the shop enabled.

The customer traits the pipeline computes equal a pandas computation, written
here, from the fixture's own rows. Half of the shop comes from a retailer's
ledger (fixtures/online_retail_2011.csv, shaped like the UCI "Online Retail"
export: invoices, and credit notes numbered C… on no order, for pseudo-products
or beyond the invoice they credit), mapped onto the shop tables as
docs/sources.md says; each of its customers' net revenue must equal the
ledger's sales minus credit notes.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from audiences.config import airflow_env, settings
from audiences.report.steps import executed_run
from tests.conftest import warehouse_query
from tests.e2e.test_nightly_dag import AIRFLOW, DAG_ID, POOLS

pytestmark = pytest.mark.e2e

AS_OF = date(2011, 6, 30)
RATES = {"EUR": Decimal("1.0"), "GBP": Decimal("1.17")}  # seeds/currency_rates.csv
CUSTOMERS = [
    # customer_id, email, first name, last name, country as the shop holds it
    (1, "ann@shop.ie", "Ann", "Byrne", "EIRE"),
    (2, "ben@shop.co.za", "Ben", "Botha", "RSA"),
    (3, "cy@shop.co.uk", "Cy", "Hale", "United Kingdom"),
    (4, "di@shop.eu", "Di", "Vos", "Unspecified"),
]
ORDERS = [
    # order_id, customer_id, email, status, currency, total, placed
    (101, 1, "ann@shop.ie", "shipped", "EUR", "120.00", "2011-03-01 10:00:00"),
    (102, 1, "ann@shop.ie", "shipped", "EUR", "80.00", "2011-05-10 10:00:00"),
    (103, 1, "ann@shop.ie", "cancelled", "EUR", "50.00", "2011-06-01 10:00:00"),
    (201, 2, "ben@shop.co.za", "shipped", "EUR", "300.00", "2011-04-01 10:00:00"),
    (202, 2, "ben@shop.co.za", "paid", "EUR", "40.00", "2011-06-10 10:00:00"),
    (301, 3, "cy@shop.co.uk", "shipped", "GBP", "500.00", "2011-01-15 10:00:00"),
    (302, 3, "cy@shop.co.uk", "shipped", "GBP", "10.00", "2011-02-15 10:00:00"),
    (401, 4, "di@shop.eu", "refunded", "EUR", "60.00", "2011-06-20 10:00:00"),
    # Guest checkouts: with an address (a profile), without one, with a junk one.
    (501, None, "guest@shop.ie", "shipped", "EUR", "25.00", "2011-05-05 10:00:00"),
    (502, None, None, "shipped", "EUR", "15.00", "2011-05-06 10:00:00"),
    (503, None, "test@test.com", "shipped", "EUR", "35.00", "2011-05-07 10:00:00"),
]
ITEMS = [
    # order_item_id, order_id, product_id, quantity, unit_price
    (1, 101, 1, 1, "120.00"),
    (2, 102, 2, 1, "80.00"),
    (3, 103, 2, 1, "50.00"),
    (4, 201, 3, 1, "300.00"),
    (5, 202, 2, 1, "60.00"),
    (6, 202, 2, -1, "20.00"),  # a returned item booked in the order
    (7, 301, 3, 1, "500.00"),
    (8, 302, 1, 2500, "0.0042"),  # sub-penny
    (9, 302, 1, 2500, "0.0042"),  # the same line again
    (10, 401, 2, 1, "60.00"),
    (11, 501, 2, 1, "25.00"),
    (12, 502, 2, 1, "15.00"),
    (13, 503, 2, 1, "35.00"),
]
PRODUCTS = [
    # product_id, name, category, price
    (1, "Paper clip", "office", "0.0042"),
    (2, "Teapot", "kitchen", "60.00"),
    (3, "Armchair", "furniture", "500.00"),
]
REFUNDS = [
    # refund_id, order_id, customer_id, currency, amount, reason, at: a partial
    # return, and a credit note on an order
    (1, 102, None, None, "20.00", "partial return", "2011-05-20 10:00:00"),
    (2, 201, None, None, "300.00", "credit note C201", "2011-04-15 10:00:00"),
]
LEDGER = Path(__file__).parent / "fixtures" / "online_retail_2011.csv"


def _ledger_rows() -> list[dict]:
    with LEDGER.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["at"] = datetime.strptime(row["InvoiceDate"], "%d/%m/%Y %H:%M").isoformat(" ")
        row["amount"] = Decimal(row["Quantity"]) * Decimal(row["UnitPrice"])
        row["customer"] = int(row["CustomerID"]) if row["CustomerID"] else None
    return rows


def _from_ledger() -> None:
    """Map the ledger onto the shop tables as docs/sources.md says: an invoice is an
    order, its lines order items; each credit-note line is a refund of the customer's
    latest earlier invoice holding the same product, or, when none does (a manual
    correction, a discount, bank charges, a product bought before the history), a
    refund on no order for the customer, in the ledger's currency."""
    rows = _ledger_rows()
    codes = sorted({row["StockCode"] for row in rows})
    product = {code: 100 + i for i, code in enumerate(codes)}
    names = {row["StockCode"]: row["Description"] for row in rows}
    PRODUCTS.extend((product[c], names[c], None, None) for c in codes)
    invoices = [row for row in rows if not row["InvoiceNo"].startswith("C")]
    for customer in sorted({row["customer"] for row in rows} - {None}):
        country = next(row["Country"] for row in rows if row["customer"] == customer)
        CUSTOMERS.append((customer, None, None, None, country))
    totals: dict[str, Decimal] = {}
    for row in invoices:
        totals[row["InvoiceNo"]] = totals.get(row["InvoiceNo"], Decimal(0)) + row["amount"]
        ITEMS.append((1000 + len(ITEMS), int(row["InvoiceNo"]), product[row["StockCode"]],
                      int(row["Quantity"]), row["UnitPrice"]))  # fmt: skip
    for number, total in totals.items():
        first = next(row for row in invoices if row["InvoiceNo"] == number)
        ORDERS.append((int(number), first["customer"], None, "shipped", "GBP",
                       f"{total:.2f}", first["at"]))  # fmt: skip
    for row in rows:
        if not row["InvoiceNo"].startswith("C"):
            continue
        earlier = [
            inv for inv in invoices
            if row["customer"] is not None and inv["customer"] == row["customer"]
            and inv["StockCode"] == row["StockCode"] and inv["at"] <= row["at"]
        ]  # fmt: skip
        order = int(max(earlier, key=lambda inv: inv["at"])["InvoiceNo"]) if earlier else None
        why = f"credit note {row['InvoiceNo']} {row['StockCode']}"
        REFUNDS.append((1000 + len(REFUNDS), order, row["customer"], "GBP",
                        f"{-row['amount']:.2f}", why, row["at"]))  # fmt: skip


def _ledger_net() -> dict[int, tuple[Decimal, int]]:
    """Per ledger customer: sales minus credit notes (GBP), and how many lines."""
    net: dict[int, tuple[Decimal, int]] = {}
    for row in _ledger_rows():
        if row["customer"] is not None:
            total, lines = net.get(row["customer"], (Decimal(0), 0))
            net[row["customer"]] = (total + row["amount"], lines + 1)
    return net


_from_ledger()


def _shop(path) -> None:
    con = sqlite3.connect(path)
    con.executescript(
        """
        create table customers (customer_id integer primary key, email text, first_name text,
            last_name text, phone text, country text, created_at text, updated_at text);
        create table products (product_id integer primary key, name text, category text,
            price numeric, created_at text, updated_at text);
        create table orders (order_id integer primary key, customer_id integer, email text,
            status text, currency text, subtotal numeric, shipping numeric, tax numeric,
            total numeric, created_at text, updated_at text);
        create table order_items (order_item_id integer primary key, order_id integer,
            product_id integer, quantity integer, unit_price numeric, created_at text,
            updated_at text);
        create table refunds (refund_id integer primary key, order_id integer,
            order_item_id integer, customer_id integer, currency text, amount numeric,
            reason text, created_at text, updated_at text);
        """
    )
    opened = "2010-12-01 09:00:00"
    con.executemany(
        "insert into customers values (?, ?, ?, ?, null, ?, ?, ?)",
        [(*row, opened, opened) for row in CUSTOMERS],
    )
    con.executemany(
        "insert into products values (?, ?, ?, ?, ?, ?)",
        [(*row, opened, opened) for row in PRODUCTS],
    )
    con.executemany(
        "insert into orders values (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
        [(o, c, e, s, cur, t, t, at, at) for o, c, e, s, cur, t, at in ORDERS],
    )
    placed = {o: at for o, *_, at in ORDERS}
    con.executemany(
        "insert into order_items values (?, ?, ?, ?, ?, ?, ?)",
        [(*row, placed[row[1]], placed[row[1]]) for row in ITEMS],
    )
    con.executemany(
        "insert into refunds values (?, ?, null, ?, ?, ?, ?, ?, ?)",
        [(*row, row[-1]) for row in REFUNDS],
    )
    con.commit()
    con.close()


def _expected() -> pd.DataFrame:
    """Per customer, from the fixture: net revenue, completed purchases, AOV, the last
    completed purchase and the RFM scores, as docs/segments.md defines them."""
    orders = pd.DataFrame(
        ORDERS, columns=["order_id", "customer_id", "email", "status", "currency", "total", "at"]
    )
    orders["total"] = orders["total"].map(Decimal)
    refunded = pd.DataFrame(
        REFUNDS, columns=["refund_id", "order_id", "customer_id", "currency", "amount", "why", "at"]
    )
    refunded["amount"] = refunded["amount"].map(Decimal)
    back = refunded.groupby("order_id")["amount"].sum()
    orders["back"] = [back.get(order, Decimal(0)) for order in orders.order_id]
    orders["refunded"] = [
        total if status == "refunded" else min(given, total)
        for given, status, total in zip(orders.back, orders.status, orders.total, strict=True)
    ]
    paid = orders.status.isin(["paid", "shipped"])
    orders["completed"] = paid & (orders.refunded < orders.total)

    def eur(amount: Decimal, currency: str) -> Decimal:
        return (amount * RATES[currency]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    orders["net_eur"] = [
        eur(total - refund, cur) if ok else Decimal("0.00")
        for total, refund, cur, ok in zip(
            orders.total, orders.refunded, orders.currency, paid, strict=True
        )
    ]
    # Customers: shop accounts, and the guest whose email makes a profile.
    orders["key"] = [
        f"shop_customer:{c:.0f}" if pd.notna(c) else f"guest_order:{o}"
        for c, o in zip(orders.customer_id, orders.order_id, strict=True)
    ]
    # What no order holds: beyond an order's total, and refunds on no order.
    adjustments = [
        (key, eur(given - total, cur))
        for key, given, total, cur, status in zip(
            orders.key, orders.back, orders.total, orders.currency, orders.status, strict=True
        )
        if status in ("paid", "shipped", "refunded") and given > total
    ] + [
        (f"shop_customer:{customer:.0f}", eur(amount, currency))
        for order, customer, currency, amount in zip(
            refunded.order_id, refunded.customer_id, refunded.currency, refunded.amount,
            strict=True,
        )
        if pd.isna(order) and pd.notna(customer)
    ]  # fmt: skip
    unattributed = {"guest_order:502", "guest_order:503", "guest_order:540210"}
    orders = orders[~orders.key.isin(unattributed)]
    per = orders.groupby("key").agg(
        net_revenue_eur=("net_eur", "sum"),
        completed_orders=("completed", "sum"),
    )
    for key, amount in adjustments:
        if key in unattributed:
            continue
        if key not in per.index:
            per.loc[key] = [Decimal("0.00"), 0]
        per.loc[key, "net_revenue_eur"] -= amount
    last = orders[orders.completed].groupby("key")["at"].max()
    per["last_order_at"] = pd.to_datetime(last).dt.tz_localize("UTC")
    per["aov"] = [
        (net / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if n else None
        for net, n in zip(per.net_revenue_eur, per.completed_orders, strict=True)
    ]
    buyers = per[per.completed_orders > 0].copy()
    buyers["days"] = [(AS_OF - t.date()).days for t in buyers.last_order_at]

    def quintile(values: pd.Series) -> pd.Series:
        n = len(values)
        rank = (values.rank(method="min") - 1) / (n - 1) if n > 1 else values * 0
        return (1 + (5 * rank).astype(float).apply(int)).clip(upper=5)

    buyers["r"] = quintile(-buyers.days)
    buyers["f"] = quintile(buyers.completed_orders.astype(float))
    buyers["m"] = quintile(buyers.net_revenue_eur.astype(float))
    return per.join(buyers[["days", "r", "f", "m"]])


def _airflow(env: dict, *args: str) -> str:
    out = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    return log


def test_a_shop_only_company_with_2011_history(home, tmp_path_factory, monkeypatch):
    shop = tmp_path_factory.mktemp("shop") / "shop.sqlite"
    _shop(shop)
    variables = {"AUDIENCES_SOURCES": "shop", "AUDIENCES_SHOP_URL": f"sqlite:///{shop}"}
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    env = airflow_env(home, AUDIENCES_RETRY_DELAY_SECONDS="1", **variables)
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "import", POOLS)
    log = _airflow(env, "dags", "test", DAG_ID, AS_OF.isoformat())
    assert "state=success" in log, log[-4000:]
    executed_run(settings(), AS_OF, log)
    assert "extract_crm" not in log and "extract_web" not in log

    run = json.loads((home / "reports" / AS_OF.isoformat() / "run.json").read_text())
    assert run["status"] == "published", run

    found = pd.DataFrame(
        warehouse_query(
            "select identities.identifier_key, customers.net_revenue_eur,"
            " customers.completed_orders, customers.average_order_value_eur,"
            " customers.last_order_at, customers.days_since_last_order,"
            " customers.recency_score, customers.frequency_score, customers.monetary_score"
            " from marts.dim_customers as customers"
            " inner join marts.customer_identities as identities"
            "   on identities.customer_id = customers.customer_id and identities.is_anchor"
        ),
        columns=[
            "key",
            "net_revenue_eur",
            "completed_orders",
            "aov",
            "last_order_at",
            "days",
            "r",
            "f",
            "m",
        ],
    ).set_index("key")
    expected = _expected()
    assert sorted(found.index) == sorted(expected.index)
    for key, want in expected.iterrows():
        got = found.loc[key]
        assert got.net_revenue_eur == want.net_revenue_eur, key
        assert got.completed_orders == want.completed_orders, key
        assert got.aov == want.aov or (got.aov is None and want.aov is None), key
        if pd.isna(want.last_order_at):
            assert pd.isna(got.last_order_at) and pd.isna(got.r), key
            continue
        assert pd.Timestamp(got.last_order_at) == want.last_order_at, key
        assert (got.days, got.r, got.f, got.m) == (want.days, want.r, want.f, want.m), key

    # The ledger's customers: net revenue is its sales minus credit notes, to the
    # cent of each document's conversion to EUR.
    ledger = _ledger_net()
    equal = [
        customer
        for customer, (net, lines) in ledger.items()
        if abs(found.loc[f"shop_customer:{customer}"].net_revenue_eur - net * RATES["GBP"])
        <= Decimal("0.005") * lines
    ]
    assert len(equal) / len(ledger) >= 0.995, sorted(set(ledger) - set(equal))

    # Guest checkouts without a usable address are revenue, not customers.
    assert warehouse_query(
        "select order_id, net_revenue_eur from marts.fct_orders where customer_id is null"
        " order by 1"
    ) == [(502, Decimal("15.00")), (503, Decimal("35.00")), (540210, Decimal("29.84"))]
    # Sub-penny prices kept; the repeated line counted.
    assert warehouse_query(
        "select unit_price from staging.stg_shop__order_items where order_item_id = 8"
    ) == [(Decimal("0.0042"),)]
    assert warehouse_query(
        "select duplicate_line_count from marts.fct_orders where order_id = 302"
    ) == [(1,)]
    # Legacy country names map; a non-country is null with its reason.
    countries = dict(
        warehouse_query("select country_raw, country_code from staging.stg_shop__customers")
    )
    legacy = {"EIRE": "IE", "RSA": "ZA", "United Kingdom": "GB", "Unspecified": None}
    assert {name: countries[name] for name in legacy} == legacy
    assert all(code for name, code in countries.items() if name not in legacy), countries
    # The segments that need the CRM or web events say so, and get no audience file.
    missing = dict(
        warehouse_query(
            "select segment, not_computable_reason from marts.dim_segments"
            " where not_computable_reason is not null"
        )
    )
    assert missing["cart_abandoner"] == "needs web events"
    assert missing["re_engagement"] == "needs CRM data"
    manifest = json.loads((home / "exports" / AS_OF.isoformat() / "_manifest.json").read_text())
    assert "cart_abandoner" not in manifest["segments"] and "vip" in manifest["segments"]
    report = (home / "reports" / AS_OF.isoformat() / "report.html").read_text()
    assert "not computable: needs web events" in report
    # The credit notes tied to no customer are kept and listed for the night.
    unattributed = warehouse_query(
        "select refund_id, adjustment_type, amount_eur from marts.fct_customer_adjustments"
        " where is_unattributed order by refund_id"
    )
    noone = [r for r, _, customer, *_ in REFUNDS if customer is None and r >= 1000]
    assert [r for r, *_ in unattributed] == noone and len(noone) == 2
    assert "Refunds tied to no customer" in report
    total = sum(eur for *_, eur in unattributed)
    assert f"Total: {total:,.2f} €" in report
    summary = (home / "reports" / AS_OF.isoformat() / "summary.txt").read_text()
    (line,) = [line for line in summary.splitlines() if " cart_abandoner " in line]
    assert line.endswith("not computable: needs web events")
