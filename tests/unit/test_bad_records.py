"""One bad record is quarantined with its reason, never a blocker of the night.

Hand-written records shaped like real exports: a spreadsheet CSV (CRLF)
with a contact updated in 2100, Segment events whose price is not a number or
whose time is out of range, a shop order with a negative total.
"""

from __future__ import annotations

import gzip
import json
import sqlite3

from audiences.config import settings
from audiences.extract.contracts import CRM_CONTACTS
from audiences.extract.crm import extract_export
from audiences.extract.landing import EntityResult
from audiences.load import load_results
from tests.conftest import END, ORDERS_DDL, context, extract_and_load, warehouse_query

CONTACT_HEADER = (
    "contact_id,email,first_name,last_name,phone,country,city,postal_code,birth_date,"
    "created_at,updated_at,email_opt_in,opt_in_at,opt_in_source,lifecycle_stage,is_deleted"
)
CONTACTS = [
    "1,ann@example.org,Ann,Lee,,IE,Dublin,D02,1980-02-01,"
    "2025-01-05 10:00:00+00,2026-11-22 09:00:00+00,true,2025-01-05 10:00:00+00,form,lead,false",
    # Updated in 2100: a typo in the CRM, or a clock gone wrong.
    "2,bob@example.org,Bob,Ray,,IE,Cork,,1975-07-30,"
    "2025-03-01 08:00:00+00,2100-01-01 00:00:00+00,false,,,lead,false",
    # Created before the business existed (the epoch a blank date became).
    "3,cy@example.org,Cy,Day,,IE,Galway,,,"
    "1970-01-01 00:00:00+00,2026-11-22 11:00:00+00,false,,,lead,false",
    # An offset that puts the change past the end of the logical day.
    "4,di@example.org,Di,Fox,,IE,Sligo,,,"
    "2025-06-01 08:00:00+00,2026-11-22 23:30:00-02:00,false,,,lead,false",
]


def _quarantine(source: str) -> list[tuple]:
    return warehouse_query(
        "select _record_number, reason from audit.quarantine where source = ? order by all",
        [source],
    )


def _load(results: list[EntityResult]) -> None:
    load_results(settings().warehouse, results)


def test_contacts_with_out_of_range_timestamps_are_quarantined(home):
    crm = home / "sources" / "crm"
    crm.mkdir(parents=True)
    text = "\r\n".join([CONTACT_HEADER, *CONTACTS]) + "\r\n"
    (crm / "contacts_20261122.csv").write_text(text, encoding="utf-8", newline="")
    result = extract_export(context(END), CRM_CONTACTS, crm)
    _load([result])
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (4, 1, 3)
    assert _quarantine("crm") == [
        (3, "updated_at after the end of the logical date"),
        (4, "created_at before the earliest date (2000-01-01)"),
        (5, "updated_at after the end of the logical date"),
    ]


def _event(message_id: str, **changes) -> str:
    event = {
        "messageId": message_id,
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "anon-1",
        "userId": None,
        "timestamp": "2026-11-22T10:00:00.000Z",
        "receivedAt": "2026-11-22T10:00:01.000Z",
        "properties": {"product_id": "7", "price": 12.5, "currency": "EUR"},
        "context": {"page": {"path": "/p/7"}},
        "traits": None,
    }
    return json.dumps({**event, **changes}, ensure_ascii=False)


def test_events_with_unconvertible_properties_or_times_are_quarantined(home):
    folder = home / "sources" / "web" / "2026" / "11" / "22"
    folder.mkdir(parents=True)
    lines = [
        _event("ok"),
        _event("price", properties={"product_id": "7", "price": "₀₁₂"}),
        _event("revenue", event="Order Completed", properties={"revenue": {"amount": 3}}),
        _event("future", timestamp="2100-01-01T00:00:00Z"),
        _event("offset", timestamp="2026-11-22T23:30:00-05:00"),
        _event("ancient", timestamp="1970-01-01T00:00:00Z"),
        _event("text-price", properties={"product_id": "7", "price": "12.50"}),
    ]
    (folder / "10.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    result = extract_and_load(END, ["web"])["web.events"]
    assert (result.records_read, result.records_loaded, result.records_quarantined) == (7, 2, 5)
    assert _quarantine("web") == [
        (2, "invalid decimal in properties.price"),
        (3, "invalid decimal in properties.revenue"),
        (4, "timestamp after the end of the logical date"),
        (5, "timestamp after the end of the logical date"),
        (6, "timestamp before the earliest date (2000-01-01)"),
    ]


def test_the_earliest_date_is_configurable(home, monkeypatch):
    monkeypatch.setenv("AUDIENCES_EARLIEST_DATE", "1960-01-01")
    folder = home / "sources" / "web" / "2026" / "11" / "22"
    folder.mkdir(parents=True)
    (folder / "10.jsonl.gz").write_bytes(
        gzip.compress(_event("ancient", timestamp="1970-01-01T00:00:00Z").encode())
    )
    assert extract_and_load(END, ["web"])["web.events"].records_loaded == 1


def test_an_order_with_a_negative_total_is_quarantined(home):
    from audiences.extract.contracts import SHOP_ORDERS
    from audiences.extract.shop import extract_table, make_engine

    path = home / "shop.sqlite"
    con = sqlite3.connect(path)
    con.execute(ORDERS_DDL)
    con.executemany(
        "insert into orders values (?, ?, ?, ?, 'EUR', ?, 0, 0, ?, ?, ?)",
        [
            (1, 10, "a@example.org", "paid", 20, 20, "2026-11-22 08:00:00", "2026-11-22 08:00:00"),
            (2, 11, "b@example.org", "paid", -5, -5, "2026-11-22 09:00:00", "2026-11-22 09:00:00"),
        ],
    )
    con.commit()
    con.close()
    engine = make_engine(f"sqlite:///{path}")
    result = extract_table(context(END), engine, SHOP_ORDERS)
    engine.dispose()
    _load([result])
    assert (result.records_loaded, result.records_quarantined) == (1, 1)
    assert _quarantine("shop") == [(2, "subtotal below 0")]
