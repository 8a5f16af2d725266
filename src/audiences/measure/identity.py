"""Identity resolution measured against the generator's truth.

The generator writes which person each CRM contact, shop account, guest
order and device is (``identity_truth.parquet`` next to the sources; no
pipeline step reads it). Against ``marts.customer_identities``:

- **pairwise precision, recall and F1**: over every pair of the records
  (contacts, accounts, guest orders) the warehouse resolved, a pair is a
  true link when both are one person, a found link when both got one
  customer_id; precision = true found links / found links, recall = true
  found links / true links. The same over records and devices
  ("identifiers");
- the **largest customer**, in records;
- the **over-merges**: customers whose records belong to several people,
  worst first, with the identifiers that joined them (an address, phone or
  device linked directly to records of more than one of those people).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from audiences.sql import literal

RECORD_TYPES = ("crm_contact", "shop_customer", "guest_order")


@dataclass(frozen=True)
class Pairwise:
    precision: float
    recall: float
    f1: float
    found_links: int
    true_links: int
    identifiers: int


@dataclass(frozen=True)
class IdentityQuality:
    records: Pairwise
    identifiers: Pairwise
    customers: int
    largest_customer_records: int
    over_merged_customers: int
    over_merges: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def measure(con: duckdb.DuckDBPyConnection, truth: Path, worst: int = 10) -> IdentityQuality:
    """Measure the warehouse open in ``con`` (its marts) against the truth file."""
    con.execute(
        "create or replace temp table resolved as"
        " select t.identifier_key, split_part(t.identifier_key, ':', 1) as identifier_type,"
        " t.person, i.customer_id"
        f" from read_parquet({literal(str(truth))}) as t"
        " inner join marts.customer_identities as i using (identifier_key)"
    )
    records = f"identifier_type in {RECORD_TYPES}"
    largest, customers = con.execute(
        f"select max(n), count(*) from (select count(*) as n from resolved where {records}"
        " group by customer_id)"
    ).fetchone()
    merges = _over_merges(con, records)
    return IdentityQuality(
        records=pairwise(con, records),
        identifiers=pairwise(con, "true"),
        customers=customers,
        largest_customer_records=largest or 0,
        over_merged_customers=len(merges),
        over_merges=merges[:worst],
    )


def pairwise(con: duckdb.DuckDBPyConnection, where: str) -> Pairwise:
    """Pairwise precision and recall over the rows of the table ``resolved``
    (identifier_key, identifier_type, person, customer_id) that ``where`` keeps.
    Pair counts from the contingency table: n choose 2 per customer, per
    person, per both."""
    pairs = "sum(n * (n - 1) / 2)"
    found, true, both, n = con.execute(
        f"""
        with rows as (select * from resolved where {where})
        select
            (select {pairs} from (select count(*) as n from rows group by customer_id)),
            (select {pairs} from (select count(*) as n from rows group by person)),
            (select {pairs} from (select count(*) as n from rows group by customer_id, person)),
            (select count(*) from rows)
        """
    ).fetchone()
    found, true, both = (int(x or 0) for x in (found, true, both))
    precision = both / found if found else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Pairwise(precision, recall, f1, found, true, n)


def _over_merges(con: duckdb.DuckDBPyConnection, records: str) -> list[dict]:
    """Customers holding records of several people, the most people first, with the
    identifiers linked directly to records of more than one of them."""
    rows = con.execute(
        f"""
        with merged as (
            select customer_id, count(distinct person) as people, count(*) as records
            from resolved where {records}
            group by customer_id having count(distinct person) > 1
        ),
        links as (
            select l.left_key, l.right_key, l.link_source, r.person, r.customer_id
            from intermediate.int_identity_links as l
            inner join resolved as r
                on r.identifier_key = l.left_key and r.identifier_type in {RECORD_TYPES}
            union all
            select l.right_key, l.left_key, l.link_source, r.person, r.customer_id
            from intermediate.int_identity_links as l
            inner join resolved as r
                on r.identifier_key = l.right_key and r.identifier_type in {RECORD_TYPES}
        ),
        bridges as (
            select customer_id, right_key as via, string_agg(distinct link_source, ', ') as how,
                   count(distinct person) as people
            from links group by customer_id, right_key having count(distinct person) > 1
        )
        select m.customer_id, m.people, m.records,
               list(b.via || ' (' || b.how || ', ' || b.people || ' people)' order by b.via)
        from merged as m left join bridges as b using (customer_id)
        group by all
        order by m.people desc, m.records desc, m.customer_id
        """
    ).fetchall()
    return [
        {"customer_id": c, "people": p, "records": r, "joined_by": [v for v in via if v]}
        for c, p, r, via in rows
    ]
