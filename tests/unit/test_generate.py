"""The generator: deterministic, in the contracted formats, realistic and dirty on purpose."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import sqlite3
from dataclasses import fields
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from audiences.extract.contracts import CRM_CONTACTS, CRM_EMAIL_ACTIVITY, entities_of
from audiences.generate import GenerateOptions, HardCases, generate
from tests.conftest import SMALL


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "generator.json"
    }


def test_same_seed_same_bytes(tmp_path, sources_through_end):
    generate(tmp_path, SMALL)
    assert _digest(tmp_path) == _digest(sources_through_end)


def test_other_seed_other_data(tmp_path, sources_through_end):
    generate(tmp_path, GenerateOptions(**{**SMALL.__dict__, "seed": 8}))
    assert _digest(tmp_path) != _digest(sources_through_end)


def test_daily_increments_extend_the_same_history(sources_day_before, sources_through_end):
    before, after = _digest(sources_day_before), _digest(sources_through_end)
    older = {k: v for k, v in before.items() if k.endswith(".csv") or k.endswith(".gz")}
    # Every file that existed the day before is unchanged a day later...
    assert older.items() <= after.items()
    # ...and the new day brought new files.
    assert any("20261122" in k for k in after.keys() - before.keys())
    assert any(k.startswith("web/2026/11/22/") for k in after.keys() - before.keys())


def test_crm_files_follow_the_contract(sources_through_end):
    crm = sources_through_end / "crm"
    for prefix, entity in (("contacts", CRM_CONTACTS), ("email_activity", CRM_EMAIL_ACTIVITY)):
        files = sorted(crm.glob(f"{prefix}_*.csv"))
        assert len(files) == SMALL.days
        with files[0].open(newline="") as handle:
            assert next(csv.reader(handle)) == entity.column_names


def test_web_files_are_hourly_segment_events(sources_through_end):
    files = sorted((sources_through_end / "web").rglob("*.jsonl.gz"))
    assert files and all(len(f.relative_to(sources_through_end / "web").parts) == 4 for f in files)
    events = []
    bad = 0
    for f in files:
        for line in gzip.decompress(f.read_bytes()).splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    assert bad > 0  # malformed lines are part of the dirt
    assert {e["type"] for e in events} == {"page", "track", "identify"}
    names = {e["event"] for e in events if e["type"] == "track"}
    assert {"Product Viewed", "Product Added", "Checkout Started", "Order Completed"} <= names
    identifies = [e for e in events if e["type"] == "identify"]
    assert all(e["traits"]["email"] for e in identifies)
    # Visitors identify without logging in (guest checkout): anonymousId + email only.
    assert any(e["userId"] is None and e["anonymousId"] for e in identifies)
    # Late events land in a later hour's file than their timestamp.
    assert any(e["receivedAt"][:13] != e["timestamp"][:13] for e in events)


def test_shop_database_tables(sources_through_end):
    con = sqlite3.connect(sources_through_end / "shop.sqlite")
    for entity in entities_of("shop"):
        cols = [r[1] for r in con.execute(f"pragma table_info({entity.name})")]
        # The generator's shop predates the columns a shop may lack (refunds'
        # customer_id and currency): every night extracts such a shop.
        assert cols == [c.name for c in entity.columns if not c.may_be_absent]
    assert any(c.may_be_absent for e in entities_of("shop") for c in e.columns)
    statuses = dict(con.execute("select status, count(*) from orders group by 1").fetchall())
    assert {"paid", "shipped", "cancelled"} <= statuses.keys()
    guests = con.execute("select count(*) from orders where customer_id is null").fetchone()[0]
    assert guests > 0


def test_activity_is_heavy_tailed(tmp_path):
    generate(
        tmp_path, GenerateOptions(customers=3000, days=60, end_date=date(2026, 11, 22), seed=1)
    )
    con = sqlite3.connect(tmp_path / "shop.sqlite")
    per_buyer = sorted(
        (
            n
            for (n,) in con.execute(
                "select count(*) from orders group by coalesce(cast(customer_id as text),"
                " lower(trim(email)))"
            )
        ),
        reverse=True,
    )
    statuses = {s for (s,) in con.execute("select distinct status from orders")}
    assert {"shipped", "cancelled", "refunded"} <= statuses
    top_decile = sum(per_buyer[: len(per_buyer) // 10])
    assert top_decile > 0.25 * sum(per_buyer)  # a few heavy buyers...
    assert per_buyer.count(1) > len(per_buyer) / 2  # ...and many one-off buyers


def test_dirt_can_be_turned_off(tmp_path):
    generate(
        tmp_path,
        GenerateOptions(customers=300, days=3, end_date=date(2026, 11, 22), seed=3, dirt=0.0),
    )
    for f in (tmp_path / "web").rglob("*.jsonl.gz"):
        for line in gzip.decompress(f.read_bytes()).splitlines():
            json.loads(line)
    for f in (tmp_path / "crm").glob("contacts_*.csv"):
        rows = list(csv.reader(f.open(newline="")))
        assert {len(r) for r in rows} == {len(CRM_CONTACTS.columns)}


@pytest.mark.parametrize(
    "bad", [{"customers": 1}, {"days": 1}, {"dirt": 0.9}, {"through": date(2020, 1, 1)}]
)
def test_invalid_options_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        generate(tmp_path, GenerateOptions(**{**SMALL.__dict__, **bad}))


def test_treat_plants_orders_for_an_audience_files_addresses(tmp_path, sources_through_end, capsys):
    import shutil

    from audiences.cli import main

    sources = tmp_path / "sources"
    shutil.copytree(sources_through_end, sources)
    con = sqlite3.connect(sources / "shop.sqlite")
    emails = [e for (e,) in con.execute("select email from customers order by 1 limit 3")]
    (before,) = con.execute("select count(*) from orders").fetchone()
    con.close()
    audience = tmp_path / "vip.csv"
    audience.write_text("email\n" + "".join(f"{e.upper()}\n" for e in emails))

    main(["treat", str(audience), "--sent-on", "2026-11-15", "--uplift", "1",
          "--sources", str(sources)])  # fmt: skip

    assert json.loads(capsys.readouterr().out)["orders_added"] == 3
    con = sqlite3.connect(sources / "shop.sqlite")
    added = con.execute(
        "select lower(email), created_at from orders order by order_id desc limit 3"
    ).fetchall()
    (after,) = con.execute("select count(*) from orders").fetchone()
    con.close()
    assert after == before + 3
    assert sorted(e for e, _ in added) == sorted(e.strip().lower() for e in emails)
    assert all("2026-11-16" <= placed < "2026-11-23" for _, placed in added)


def test_hard_cases_appear_at_their_rates_and_the_truth_tells_them_apart(tmp_path):
    """Each identity hard case is in the sources, and the truth file says which
    person each record really is. Without hard cases only name twins occur (the
    name and city vocabularies are small), and fewer."""
    cases = {f.name: 0.1 for f in fields(HardCases)}
    options = GenerateOptions(customers=2000, days=30, end_date=date(2026, 11, 22), seed=4, dirt=0)
    generate(
        tmp_path / "hard", GenerateOptions(**{**options.__dict__, "hard_cases": HardCases(**cases)})
    )
    generate(tmp_path / "clean", options)
    hard, clean = _hard_case_counts(tmp_path / "hard"), _hard_case_counts(tmp_path / "clean")
    assert all(hard[case] > clean[case] for case in hard), (hard, clean)
    assert not any(n for case, n in clean.items() if case != "name_collision"), clean


def _hard_case_counts(sources: Path) -> dict[str, int]:
    con = duckdb.connect()
    con.execute(
        f"create view truth as select * from read_parquet('{sources}/identity_truth.parquet')"
    )
    con.execute(
        f"create view contacts as select * from read_csv('{sources}/crm/contacts_*.csv',"
        " all_varchar = true, union_by_name = true)"
    )
    shop = sqlite3.connect(sources / "shop.sqlite")
    for table in ("customers", "orders"):
        frame = pd.read_sql(f"select * from {table}", shop)  # noqa: F841 (read by duckdb)
        con.execute(f"create table shop_{table} as select * from frame")
    shop.close()
    con.execute(
        "create view records as"
        " select 'crm_contact:' || contact_id as key, lower(trim(email)) as email,"
        " first_name, last_name, city, phone from contacts"
        " union all select 'shop_customer:' || customer_id, lower(trim(email)), first_name,"
        " last_name, null, phone from shop_customers"
        " union all select 'guest_order:' || order_id, lower(trim(email)), null, null, null, null"
        " from shop_orders where customer_id is null"
    )
    con.execute(
        "create view web as select json->>'anonymousId' as device, json->>'userId' as user_id"
        f" from read_json_objects('{sources}/web/*/*/*/*.jsonl.gz', format = 'newline_delimited')"
        " as t(json) where json->>'userId' is not null"
    )
    people_per = (
        "select count(*) from (select {key} from records join truth on key = identifier_key"
        " where {where} group by {key} having count(distinct person) > 1)"
    )
    return {
        "shared_email": con.execute(people_per.format(key="email", where="true")).fetchone()[0],
        "name_collision": con.execute(
            people_per.format(key="first_name, last_name, city", where="first_name is not null")
        ).fetchone()[0],
        "reassigned_phone": con.execute(
            people_per.format(key="regexp_replace(phone, '\\D', '', 'g')", where="phone <> ''")
        ).fetchone()[0],
        "shared_device": con.execute(
            "select count(*) from (select device from web join truth"
            " on identifier_key = 'shop_customer:' || user_id"
            " group by device having count(distinct person) > 1)"
        ).fetchone()[0],
        "email_change": con.execute(
            "select count(*) from (select contact_id from contacts group by 1"
            " having count(distinct lower(trim(email))) > 1)"
        ).fetchone()[0],
        "email_typo": con.execute(
            "select count(*) from records"
            " where email similar to '.*@(gmial|yaho|hotmial|outlok)\\..*' or email like '%.con'"
        ).fetchone()[0],
        "email_obfuscation": con.execute(
            "select count(*) from records where email not like '%@%' and email like '%at%'"
        ).fetchone()[0],
    }
