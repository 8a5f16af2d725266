"""A planted effect: the people an audience file names buy more after it was sent.

The generated shop converts everyone alike; to check that the holdout lift
finds an effect where there is one, ``treat`` adds, for each address of an
exported audience file, with probability ``uplift``, one paid order placed on
one of the ``days`` after the file's date — as if the email had worked. The
holdout group is not in the file, so only the audience gains. The shop
database is changed in place (new order and line ids after the highest);
the next nights extract the orders like any other.
"""

from __future__ import annotations

import csv
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

SHIPPING = 4.95


def treat(
    sources: Path, audience: Path, sent_on: date, uplift: float, days: int = 7, seed: int = 0
) -> int:
    """Plant the effect for the addresses of ``audience``; the orders added."""
    with audience.open(newline="") as handle:
        emails = sorted({row["email"].strip().lower() for row in csv.DictReader(handle)})
    rng = np.random.default_rng(seed)
    treated = [email for email in emails if rng.random() < uplift]
    con = sqlite3.connect(sources / "shop.sqlite")
    try:
        accounts = dict(
            con.execute(
                "select lower(trim(email)), min(customer_id) from customers group by 1"
            ).fetchall()
        )
        products = con.execute("select product_id, price from products order by 1").fetchall()
        order_id, item_id = con.execute(
            "select (select max(order_id) from orders),"
            " (select max(order_item_id) from order_items)"
        ).fetchone()
        start = datetime(sent_on.year, sent_on.month, sent_on.day) + timedelta(days=1)
        for offset, email in enumerate(treated, start=1):
            product_id, price = products[rng.integers(len(products))]
            placed = start + timedelta(seconds=int(rng.integers(days * 86400)))
            stamp = placed.strftime("%Y-%m-%d %H:%M:%S")
            con.execute(
                "insert into orders (order_id, customer_id, email, status, currency, subtotal,"
                " shipping, tax, total, created_at, updated_at)"
                " values (?, ?, ?, 'paid', 'EUR', ?, ?, 0, ?, ?, ?)",
                [order_id + offset, accounts.get(email), email, price, SHIPPING,
                 round(float(price) + SHIPPING, 2), stamp, stamp],
            )  # fmt: skip
            con.execute(
                "insert into order_items (order_item_id, order_id, product_id, quantity,"
                " unit_price, created_at, updated_at) values (?, ?, ?, 1, ?, ?, ?)",
                [item_id + offset, order_id + offset, product_id, price, stamp, stamp],
            )
        con.commit()
    finally:
        con.close()
    return len(treated)
