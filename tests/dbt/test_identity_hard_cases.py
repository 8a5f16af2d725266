"""Identity resolution on the cases that break identity graphs, against the generator's truth.

One warehouse for the module: 3,000 people over 30 days with every hard case
at a few times its realistic rate (audiences.generate.hard_cases), built up to
customer_identities. Each test looks at one case and counts the customers
that hold two people through it; each also checks the case is there at all.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from audiences.config import settings
from audiences.generate import TRUTH_FILE, GenerateOptions, HardCases, generate
from audiences.linkage import COMPARISONS, linker, train, write_weights
from audiences.linkage.training import RECORDS_QUERY
from audiences.measure.identity import measure
from audiences.transform import dbt_build
from audiences.transform.dbt import project_vars
from tests.conftest import END, SHELL_SETTINGS, extract_and_load

pytestmark = pytest.mark.dbt

CASES = HardCases(
    shared_device=0.08,
    shared_email=0.05,
    office_inbox=0.03,
    reassigned_phone=0.05,
    email_change=0.08,
    name_collision=0.05,
    email_typo=0.05,
    email_obfuscation=0.03,
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    home = tmp_path_factory.mktemp("hard_cases")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUDIENCES_HOME", str(home))
        for var in SHELL_SETTINGS:
            env.delenv(var, raising=False)
        options = GenerateOptions(customers=3000, days=30, end_date=END, seed=18, hard_cases=CASES)
        generate(home / "sources", options)
        extract_and_load(END)
        dbt_build(settings(), END, select="+customer_identities")
        warehouse = settings().warehouse
    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute(
        "create temp table truth as select t.identifier_key, t.person, i.customer_id"
        f" from read_parquet('{home / 'sources' / TRUTH_FILE}') as t"
        " inner join marts.customer_identities as i using (identifier_key)"
    )
    con.execute(f"create temp view truth_file as select '{home / 'sources' / TRUTH_FILE}' as path")
    con.execute(
        "create temp view guarded as select distinct guarded_identifier_key"
        " from intermediate.int_identity_link_rejections"
    )
    yield con
    con.close()


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def _people_merged(con: duckdb.DuckDBPyConnection, pairs: str) -> tuple[int, int]:
    """Of the pairs of different people (person_a, person_b) ``pairs`` selects: how
    many there are, and how many of them share a customer."""
    return con.execute(
        f"""
        with pairs as ({pairs}),
        customers as (select distinct person, customer_id from truth)
        select count(distinct (p.person_a, p.person_b)),
               count(distinct case when a.customer_id = b.customer_id
                                   then (p.person_a, p.person_b) end)
        from pairs as p
        join customers as a on a.person = p.person_a
        join customers as b on b.person = p.person_b
        where p.person_a < p.person_b
        """
    ).fetchone()


def test_precision_and_recall_hold_on_hard_cases(warehouse):
    path = warehouse.execute("select path from truth_file").fetchone()[0]
    quality = measure(warehouse, Path(path))
    # At these rates a few couples are out of reach: a partner known only by
    # guest orders (no name) or with the other's very name. make bench-identity
    # measures the target (precision 0.995) at realistic rates.
    assert quality.records.precision >= 0.99, quality.records
    assert quality.records.recall >= 0.97, quality.records


def test_a_device_shared_by_a_household_merges_nobody(warehouse):
    pairs, merged = _people_merged(
        warehouse,
        """select distinct a.person as person_a, b.person as person_b
        from intermediate.int_identity_edges as ea
        join intermediate.int_identity_edges as eb using (left_key)
        join truth as a on a.identifier_key = ea.right_key
        join truth as b on b.identifier_key = eb.right_key
        where ea.link_source = 'web_logged_in_event' and eb.link_source = 'web_logged_in_event'
          and a.person != b.person""",
    )
    assert pairs >= 5 and merged == 0


def test_an_address_named_records_show_shared_merges_nobody(warehouse):
    """Couples and offices whose CRM contacts or accounts carry their names."""
    pairs, merged = _people_merged(
        warehouse,
        """select distinct a.person as person_a, b.person as person_b
        from intermediate.int_identity_address_holders as ha
        join intermediate.int_identity_address_holders as hb using (email_key)
        join truth as a on a.identifier_key = ha.record_key
        join truth as b on b.identifier_key = hb.record_key
        where ha.first_name != hb.first_name and a.person != b.person""",
    )
    assert pairs > 10 and merged == 0
    # Each partner's own contact and account still make one customer.
    assert _count(
        warehouse,
        "select count(*) from intermediate.int_identity_links"
        " where link_source = 'same_name_on_shared_address'",
    )


def test_a_reassigned_phone_or_a_shared_name_merges_nobody(warehouse):
    """Different people whose CRM contacts share a phone number or a full name
    and city, but no address."""
    pairs, merged = _people_merged(
        warehouse,
        """with records as (
            select 'crm_contact:' || contact_id as key, lower(first_name || ' ' || last_name
                || ' ' || city) as name, phone_raw, email from staging.stg_crm__contacts
        )
        select distinct a.person as person_a, b.person as person_b
        from records as ra
        join records as rb
            on ra.name = rb.name
            or regexp_replace(ra.phone_raw, '\\D', '', 'g')
                = regexp_replace(rb.phone_raw, '\\D', '', 'g')
        join truth as a on a.identifier_key = ra.key
        join truth as b on b.identifier_key = rb.key
        where a.person != b.person and ra.email != rb.email
          and length(regexp_replace(ra.phone_raw, '\\D', '', 'g')) > 6
          and ra.key not in (select record_key from intermediate.int_identity_address_holders
                             where shared_reason is not null)""",
    )
    assert pairs > 10 and merged == 0


def test_a_changed_address_keeps_the_records_left_under_the_old_one(warehouse):
    """A contact that moved to a new address and the account still on its old one."""
    moved, apart = warehouse.execute(
        """select count(*), count(case when c.customer_id != s.customer_id then 1 end)
        from staging.stg_crm__contact_emails as old
        join staging.stg_crm__contacts as now
            on now.contact_id = old.contact_id and now.email != old.email
        join staging.stg_shop__customers as account on lower(trim(account.email)) = old.email
        join truth as c on c.identifier_key = 'crm_contact:' || old.contact_id
        join truth as s on s.identifier_key = 'shop_customer:' || account.customer_id
        where c.person = s.person
          and 'email:' || old.email not in (select guarded_identifier_key from guarded)"""
    ).fetchone()
    assert moved > 5 and apart == 0


def test_a_mistyped_address_joins_the_person_it_means(warehouse):
    corrected, apart = warehouse.execute(
        """select count(*), count(case when typed.customer_id != meant.customer_id then 1 end)
        from intermediate.int_email_corrections as c
        join marts.customer_identities as typed on typed.identifier_key = 'email:' || c.email
        join marts.customer_identities as meant
            on meant.identifier_key = 'email:' || c.corrected_email
        where meant.identifier_key not in (select guarded_identifier_key from guarded)
          and typed.identifier_key not in (select guarded_identifier_key from guarded)"""
    ).fetchone()
    kinds = warehouse.execute(
        "select list(distinct correction order by correction)"
        " from intermediate.int_email_corrections"
    ).fetchone()[0]
    assert corrected > 10 and apart == 0
    assert kinds == ["email_deobfuscated", "email_domain_typo"]


def _max_block_records() -> int:
    return int(project_vars(settings())["identity_match_max_block_records"])


def _records(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(RECORDS_QUERY).df()


def test_probable_matches_join_one_persons_records_that_share_no_address(warehouse):
    pairs, apart, wrong = warehouse.execute(
        """select count(*),
                  count(case when l.customer_id != r.customer_id then 1 end),
                  count(case when l.person != r.person then 1 end)
        from intermediate.int_identity_match_pairs as p
        join truth as l on l.identifier_key = p.left_key
        join truth as r on r.identifier_key = p.right_key"""
    ).fetchone()
    assert pairs > 10 and apart == 0
    assert wrong <= pairs // 50, (wrong, pairs)
    evidence = warehouse.execute(
        "select match_weight, match_evidence from marts.customer_identities"
        " where match_weight is not null order by identifier_key limit 1"
    ).fetchone()
    assert evidence[0] >= 13.28 and evidence[1].startswith("probable match of "), evidence


def test_dbt_scores_pairs_as_splink_does(warehouse):
    """The committed weights in splink's own prediction give dbt's pairs and weights."""
    weights = settings().seeds_dir / "identity_match_weights.csv"
    scored = linker(_records(warehouse), _max_block_records(), weights).inference.predict(
        threshold_match_probability=0.9999
    )
    scored = scored.as_pandas_dataframe().fillna({"email_meant_l": "", "email_meant_r": ""})
    # dbt leaves out what the address decides, and two first names.
    kept = scored[(scored.email_meant_l != scored.email_meant_r) & (scored.gamma_first_name != 0)]
    splink = {(row.unique_id_l, row.unique_id_r): row.match_weight for row in kept.itertuples()}
    dbt = {
        (left, right): weight
        for left, right, weight in warehouse.execute(
            "select left_key, right_key, match_weight from intermediate.int_identity_match_pairs"
        ).fetchall()
    }
    assert splink and set(dbt) == set(splink)
    assert max(abs(dbt[pair] - splink[pair]) for pair in dbt) < 1e-4


def test_training_estimates_weights_that_tell_people_apart(warehouse, tmp_path):
    seed = tmp_path / "identity_match_weights.csv"
    rows = write_weights(train(_records(warehouse), _max_block_records()), seed)
    weights = {
        (row["comparison"], row["label"]): float(row["match_weight"])
        for row in csv.DictReader(seed.open())
    }
    assert rows == len(weights) == 25
    for column, _ in COMPARISONS:
        assert weights[column, "equal"] > 0 > weights[column, "different"], column
        assert weights[column, "missing"] == 0
    assert weights["prior", "prior"] < -10
