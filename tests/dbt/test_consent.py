"""Consent on real-shaped CRM rows: an unsubscribe is never undone by an import, and
an unsubscribe from a shared address keeps it out of every audience.

The night's CRM export gains hand-written rows: two colleagues whose contacts
share the office inbox (a blocklisted address, so they stay two customers),
one of whom unsubscribes from it; and a person who unsubscribes and is then
re-imported under a new contact id with the address in upper case.
"""

from __future__ import annotations

import pytest

from audiences.config import settings
from audiences.transform import dbt_build
from tests.conftest import (
    END,
    SIGNED_UP,
    append_csv,
    crm_contact,
    extract_and_load,
    use_sources,
    warehouse_query,
)

pytestmark = pytest.mark.dbt

MORNING, NOON = "2026-11-22T08:00:00Z", "2026-11-22T12:00:00Z"
CONTACTS = [
    # contact_id, email, first_name, last_name, opt_in_source, opt_in_at, updated_at
    (900001, "info@company.com", "Pat", "Office", "signup_form", SIGNED_UP, MORNING),
    (900002, " Info@Company.com ", "Sam", "Office", "checkout", SIGNED_UP, MORNING),
    (900004, "kimlee@postbox.ie", "Kim", "Lee", "signup_form", SIGNED_UP, MORNING),
    # The same person, re-imported after unsubscribing, address in upper case.
    (900005, "KIMLEE@POSTBOX.IE", "Kim", "Lee", "import", NOON, NOON),
]
UNSUBSCRIBES = [
    # event_id, contact_id, email, occurred_at
    ("ev_unsub_1", 900001, "info@company.com", "2026-11-22T10:00:00Z"),
    ("ev_unsub_2", 900004, "kimlee@postbox.ie", "2026-11-22T10:30:00Z"),
]


def _crm_rows(home) -> None:
    crm = home / "sources" / "crm"
    append_csv(
        crm / f"contacts_{END:%Y%m%d}.csv",
        [
            crm_contact(contact_id, email, first, last, updated, source, opt_in_at)
            for contact_id, email, first, last, source, opt_in_at, updated in CONTACTS
        ],
    )
    append_csv(
        crm / f"email_activity_{END:%Y%m%d}.csv",
        [
            {
                "event_id": event_id,
                "contact_id": contact_id,
                "email": email,
                "campaign_id": "cmp_winter_sale",
                "campaign_type": "marketing",
                "event_type": "unsubscribe",
                "occurred_at": at,
            }
            for event_id, contact_id, email, at in UNSUBSCRIBES
        ],
    )


def _customer(contact_id: int) -> str:
    return warehouse_query(
        "select customer_id from marts.customer_identities where identifier_key = ?",
        [f"crm_contact:{contact_id}"],
    )[0][0]


def test_unsubscribes_hold_against_imports_and_shared_addresses(home, sources_through_end):
    use_sources(home, sources_through_end)
    _crm_rows(home)
    extract_and_load(END)
    statuses = dbt_build(settings(), END)
    assert statuses.get("error", 0) == statuses.get("fail", 0) == 0

    office = {_customer(900001), _customer(900002)}
    kim = {_customer(900004), _customer(900005)}
    assert len(office) == 2 and len(kim) == 1  # colleagues apart, Kim merged

    # Sam never unsubscribed, and is opted in, but the inbox Pat left is suppressed.
    sam = warehouse_query(
        "select is_opted_in, is_suppressed, suppression_reason, is_contactable"
        " from marts.dim_customers where customer_id = ?",
        [_customer(900002)],
    )
    assert sam == [(True, True, "address_unsubscribe", False)]
    # The import is newer than Kim's unsubscribe, but weaker.
    assert warehouse_query(
        "select is_opted_in, is_contactable from marts.dim_customers where customer_id = ?",
        [next(iter(kim))],
    ) == [(False, False)]
    # Neither address is in any audience, in any case or spelling.
    assert warehouse_query(
        "select count(*) from marts.audience_members"
        " where lower(trim(email)) in ('info@company.com', 'kimlee@postbox.ie')"
    ) == [(0,)]
    assert warehouse_query(
        "select count(*) from (select segment, email from marts.audience_members"
        " group by all having count(*) > 1)"
    ) == [(0,)]
