"""Deterministic generator of realistic CRM, web-analytics and shop source data.

``generate()`` simulates a population over a window of days and writes the
three source systems exactly as their contracts in ``docs/sources.md`` say.
The whole history is simulated every time (it is cheap), and ``through``
decides how much of it has "happened" yet: generating through day D and then
through day D+1 reproduces a company whose systems gained one more day.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from audiences.generate import activity, crm, hard_cases, people, source_files
from audiences.generate.hard_cases import HardCases
from audiences.generate.people import DAY


@dataclass(frozen=True)
class GenerateOptions:
    customers: int = 10_000
    days: int = 90
    end_date: date | None = None  # last simulated day; defaults to yesterday (UTC)
    through: date | None = None  # last day written; defaults to end_date
    seed: int = 42
    dirt: float = 0.02  # share of records given each kind of defect
    # Identity hard cases, each at its rate; none by default.
    hard_cases: HardCases = field(default_factory=HardCases)


def default_end_date() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def generate(out_dir: Path, options: GenerateOptions) -> dict:
    """Write the sources under ``out_dir`` and return a summary of what was written."""
    if options.customers < 10:
        raise ValueError("--customers must be at least 10")
    if options.days < 2:
        raise ValueError("--days must be at least 2")
    if not 0 <= options.dirt <= 0.5:
        raise ValueError("--dirt must be between 0 and 0.5")
    end_date = options.end_date or default_end_date()
    through = options.through or end_date
    start_date = end_date - timedelta(days=options.days - 1)
    if not start_date <= through <= end_date:
        raise ValueError(f"--through must be between {start_date} and {end_date}")
    start = _epoch(start_date)
    end = _epoch(end_date) + DAY
    cutoff = _epoch(through) + DAY  # exclusive
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    rng = np.random.default_rng(options.seed)
    cases = options.hard_cases
    hard = np.random.default_rng([options.seed, 18])
    pop = people.make_people(rng, options.customers, start, end, options.dirt)
    hard_cases.apply_to_people(hard, pop, cases)
    products = activity.make_products(rng, start)
    sessions = activity.make_sessions(rng, pop, start, end)
    hard_cases.share_devices(hard, pop, sessions, cases)
    events = activity.make_events(rng, sessions, late_share=options.dirt / 2)
    orders = activity.make_orders(rng, pop, sessions, events, products)
    contacts = crm.make_contacts(rng, pop, start, end, options.dirt)
    _mistype_contacts(hard, contacts, cases)
    contacts.email_changed_at, contacts.new_email = hard_cases.change_emails(
        hard, pop, contacts.person, start, end, cases.email_change
    )
    email = crm.make_email_activity(rng, pop, contacts, orders, start, end)
    first_order = np.full(pop.n, crm.NEVER)
    np.minimum.at(first_order, orders.person, orders.placed_at)
    versions = crm.contact_versions(rng, pop, contacts, first_order, start, end)
    accounts = source_files.customer_ids(pop, sessions)
    lap("simulate")

    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    counts["crm_contacts"] = source_files.write_contacts(
        rng, out_dir / "crm", pop, contacts, versions, first_order, start, cutoff, options.dirt
    )
    counts["crm_email_activity"] = source_files.write_email(
        rng, out_dir / "crm", pop, contacts, email, start, cutoff, options.dirt
    )
    lap("crm")
    counts["web_events"] = source_files.write_web(
        rng, out_dir / "web", pop, sessions, events, orders, products, accounts, cutoff, options
    )
    lap("web")
    shop_counts, shop_truth = source_files.write_shop(
        (rng, hard), out_dir / "shop.sqlite", pop, orders, products, accounts, cutoff, options
    )
    counts.update(shop_counts)
    lap("shop")
    _write_truth(out_dir / TRUTH_FILE, pop, contacts, shop_truth, options.seed)
    lap("truth")
    summary = {
        "customers": options.customers,
        "people": _people_counts(pop, contacts, orders, accounts, cutoff),
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "through": through.isoformat(),
        "seed": options.seed,
        "dirt": options.dirt,
        "hard_cases": asdict(cases),
        "rows": counts,
        "seconds": timings,
    }
    (out_dir / "generator.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


# Which person each source record and device is: the truth identity resolution
# is measured against (audiences.measure.identity). No pipeline step reads it.
TRUTH_FILE = "identity_truth.parquet"


def _write_truth(path: Path, pop, contacts, shop_truth: dict[str, tuple], seed: int) -> None:
    """identifier_key -> person for CRM contacts, shop accounts, guest orders and
    the people's devices (their anonymousId, as the web writer derives it)."""
    import duckdb

    parts = {"crm_contact": (contacts.contact_id, contacts.person), **shop_truth}
    device_person = np.repeat(np.arange(pop.n), pop.devices)
    records = pa.table(
        {
            "kind": np.concatenate([np.full(len(ids), kind) for kind, (ids, _) in parts.items()]),
            "id": np.concatenate([ids.astype(np.int64) for ids, _ in parts.values()]),
            "person": np.concatenate([person for _, person in parts.values()]).astype(np.int64),
        }
    )
    devices = pa.table({"device": np.arange(len(device_person)), "person": device_person})
    con = duckdb.connect()
    try:
        con.register("records", records)
        con.register("devices", devices)
        con.execute(
            f"""copy (
                select kind || ':' || id as identifier_key, person from records
                union all
                select 'anonymous_id:' || md5('{seed}-a-' || device)::uuid::varchar, person
                from devices
                order by 1
            ) to '{path}' (format parquet)"""
        )
    finally:
        con.close()


def _mistype_contacts(rng, contacts, cases: HardCases) -> None:
    """Misspell or obfuscate some valid CRM addresses: mail to them bounces."""
    valid = np.flatnonzero(contacts.email_valid)
    typed = hard_cases.mistype(rng, contacts.email[valid], cases)
    changed = typed != contacts.email[valid]
    contacts.email[valid] = typed
    contacts.email_valid[valid[changed]] = False


def _people_counts(pop, contacts, orders, accounts, cutoff) -> dict[str, int]:
    """The ground truth the identity resolution should approach, for comparison."""
    ids, account_created = accounts
    known = np.zeros(pop.n, dtype=bool)
    known[contacts.person[pop.created_at[contacts.person] < cutoff]] = True
    known |= (ids >= 0) & (account_created < cutoff)
    known[orders.person[orders.placed_at < cutoff]] = True
    contact_people = contacts.person[pop.created_at[contacts.person] < cutoff]
    return {
        "simulated": int(pop.n),
        "with_a_record": int(known.sum()),
        "never_in_any_system": int(pop.n - known.sum()),
        "test_accounts": int((known & pop.is_test).sum()),
        "duplicate_crm_contacts": int(len(contact_people) - len(np.unique(contact_people))),
    }


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
