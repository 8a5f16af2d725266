"""A sequence of incremental nights equals a full refresh after every night.

Three nights, each built incrementally on the previous night's build, then
compared row for row with a full refresh of the same data. Between them the
sources change the ways real nights do: two contacts merge into one customer
(one is overwritten with the other's name and address) and split again (it
takes its own back, and the address it held, still in its history, is then
held by two names: a shared address), a
subscriber opts out and then opts in again, an old hour file of web events is
re-delivered with a late event in it, and a person is erased. A subscriber
browsed once, weeks before the 30-day window, and an even older event of
hers arrives late: the nights that take it re-read only her window and the
late event, and must carry her last visit and last product viewed. Another
browsed anonymously on a tablet weeks before and identifies on it on the
second night: her customer takes the tablet's whole history.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from audiences.cli import main
from audiences.config import settings
from audiences.pipeline import erase_step
from audiences.transform import dbt_build
from tests.conftest import (
    DAY_BEFORE,
    END,
    append_csv,
    crm_contact,
    extract_and_load,
    use_sources,
    warehouse_query,
)
from tests.dbt.test_incremental import _differences, _redeliver_old_hour

pytestmark = pytest.mark.dbt

FIRST = DAY_BEFORE - timedelta(days=1)
ANN, BOB, CARL = "ann.arbour@example.ie", "bob.birch@example.ie", "carl.cedar@example.ie"
DORA, ERIN = "dora.daly@example.ie", "erin.elm@example.ie"


def _contacts(home, day, rows: list[dict]) -> None:
    append_csv(home / "sources" / "crm" / f"contacts_{day:%Y%m%d}.csv", rows)


def _web_hour(home, at: datetime, events: list[dict]) -> None:
    """Write one hour file of web events, as the collector delivers them."""
    path = home / "sources" / "web" / f"{at:%Y/%m/%d/%H}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for number, event in enumerate(events):
        stamp = (at + timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lines.append({
            "messageId": f"{event['anonymousId']}-{at:%Y%m%d%H}-{number}", "userId": None,
            "event": None, "properties": {}, "traits": None, "timestamp": stamp,
            "receivedAt": stamp, "context": {"page": {"path": "/"}, "campaign": None},
            **event,
        })  # fmt: skip
    path.write_bytes(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))


def _dora_browsed_weeks_ago(home) -> None:
    """Dora's laptop: identified as her and a product viewed, 40 days before the first night."""
    _web_hour(home, datetime(2026, 10, 10, 20), [
        {"type": "identify", "anonymousId": "dora-laptop", "traits": {"email": DORA}},
        {"type": "track", "event": "Product Viewed", "anonymousId": "dora-laptop",
         "properties": {"product_id": "7", "category": "yoga", "price": 30.0}},
    ])  # fmt: skip


def _dora_late_cart_addition(home) -> None:
    """An even older event of her laptop, delivered late."""
    _web_hour(home, datetime(2026, 10, 5, 9), [
        {"type": "track", "event": "Product Added", "anonymousId": "dora-laptop",
         "properties": {"product_id": "8", "category": "yoga", "price": 20.0}},
    ])  # fmt: skip


def _erin_browsed_anonymously(home) -> None:
    """A tablet nobody has identified: a product viewed and added, weeks before."""
    _web_hour(home, datetime(2026, 10, 12, 18), [
        {"type": "track", "event": "Product Viewed", "anonymousId": "erin-tablet",
         "properties": {"product_id": "9", "category": "running", "price": 90.0}},
        {"type": "track", "event": "Product Added", "anonymousId": "erin-tablet",
         "properties": {"product_id": "9", "category": "running", "price": 90.0}},
    ])  # fmt: skip


def _erin_identifies(home, day) -> None:
    """Erin signs in on the tablet: the device becomes hers."""
    _web_hour(home, datetime(day.year, day.month, day.day, 10), [
        {"type": "identify", "anonymousId": "erin-tablet", "traits": {"email": ERIN}},
    ])  # fmt: skip


Query = Callable[[str, list], list[tuple]]


def _web_traits(query: Query, email: str) -> tuple:
    return query(
        "select t.last_seen_at, t.last_product_viewed_id, t.last_cart_added_at"
        " from intermediate.int_customer_web_traits t"
        " join marts.dim_customers d using (customer_id) where d.email = ?",
        [email],
    )[0]


def _customer(query: Query, identifier: str) -> str | None:
    found = query(
        "select customer_id from marts.customer_identities where identifier_key = ?",
        [identifier],
    )
    return found[0][0] if found else None


def _opted_in(query: Query, email: str) -> bool:
    found = query("select bool_or(is_opted_in) from marts.dim_customers where email = ?", [email])
    return found[0][0]


AT = "{day}T08:00:00Z"


def _first_night(home: Path, sources: dict[date, Path]) -> None:
    """Five new contacts; Dora browsed weeks ago, Erin anonymously on a tablet."""
    use_sources(home, sources[FIRST])
    _contacts(home, FIRST, [
        crm_contact(990201, ANN, "Ann", "Arbour", AT.format(day=FIRST)),
        crm_contact(990202, BOB, "Bob", "Birch", AT.format(day=FIRST)),
        crm_contact(990203, CARL, "Carl", "Cedar", AT.format(day=FIRST)),
        crm_contact(990204, DORA, "Dora", "Daly", AT.format(day=FIRST)),
        crm_contact(990205, ERIN, "Erin", "Elm", AT.format(day=FIRST)),
    ])  # fmt: skip
    _dora_browsed_weeks_ago(home)
    _erin_browsed_anonymously(home)


def _after_first_night(query: Query) -> None:
    assert _customer(query, "crm_contact:990201") != _customer(query, "crm_contact:990202")
    assert _opted_in(query, DORA)


def _second_night(home: Path, sources: dict[date, Path]) -> None:
    """Bob's contact is overwritten with Ann's (a merge); Dora unsubscribes; Erin signs in."""
    use_sources(home, sources[DAY_BEFORE])
    dora_out = {**crm_contact(990204, DORA, "Dora", "Daly", AT.format(day=DAY_BEFORE)),
                "email_opt_in": "false", "opt_in_at": ""}  # fmt: skip
    _contacts(home, DAY_BEFORE, [
        crm_contact(990202, ANN, "Ann", "Arbour", AT.format(day=DAY_BEFORE)),
        dora_out,
    ])  # fmt: skip
    _erin_identifies(home, DAY_BEFORE)


def _after_second_night(query: Query) -> None:
    assert _customer(query, "crm_contact:990201") == _customer(query, "crm_contact:990202")
    assert not _opted_in(query, DORA)
    assert _web_traits(query, ERIN) == (
        datetime(DAY_BEFORE.year, DAY_BEFORE.month, DAY_BEFORE.day, 10, tzinfo=UTC),
        "9",
        datetime(2026, 10, 12, 18, 1, tzinfo=UTC),
    )


def _third_night(home: Path, sources: dict[date, Path]) -> None:
    """Bob takes his own address back (a split), Dora opts in again, Carl is
    erased, and an old hour of web events comes again with a late event."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIENCES_HOME", str(home))
        assert main(["erase", "--email", CARL, "--note", "ticket 5150"]) == 0
    use_sources(home, sources[END])
    _contacts(home, END, [
        crm_contact(990202, BOB, "Bob", "Birch", AT.format(day=END)),
        crm_contact(990204, DORA, "Dora", "Daly", AT.format(day=END), opt_in=AT.format(day=END)),
    ])  # fmt: skip
    _redeliver_old_hour(home / "sources" / "web")
    _dora_late_cart_addition(home)


def _after_third_night(query: Query) -> None:
    assert _customer(query, "crm_contact:990201") != _customer(query, "crm_contact:990202")
    assert _opted_in(query, DORA)
    assert _customer(query, "crm_contact:990203") is None
    assert _web_traits(query, DORA) == (
        datetime(2026, 10, 10, 20, 1, tzinfo=UTC),
        "7",
        datetime(2026, 10, 5, 9, tzinfo=UTC),
    )


# Each night: its date, how the sources change before it, what must hold after it.
NIGHTS = (
    (FIRST, _first_night, _after_first_night),
    (DAY_BEFORE, _second_night, _after_second_night),
    (END, _third_night, _after_third_night),
)


def _night(day, tmp_path) -> None:
    """Build ``day`` incrementally on what is there; it must equal a full refresh."""
    extract_and_load(day)
    erase_step(day)
    dbt_build(settings(), day)
    incremental = tmp_path / f"incremental_{day}.duckdb"
    shutil.copy(settings().warehouse, incremental)
    dbt_build(settings(), day, full_refresh=True)
    assert _differences(incremental, settings().warehouse) == {}, day
    shutil.copy(incremental, settings().warehouse)  # the next night builds on the nightly chain


def test_every_night_of_a_sequence_equals_a_full_refresh(
    home, sources_two_days_before, sources_day_before, sources_through_end, tmp_path
):
    sources = {
        FIRST: sources_two_days_before,
        DAY_BEFORE: sources_day_before,
        END: sources_through_end,
    }
    for day, change, check in NIGHTS:
        change(home, sources)
        _night(day, tmp_path)
        check(warehouse_query)
