"""Erasure on the Spark engine, whose raw layer is the landing Parquet and whose
tables are Parquet folders in Spark's warehouse directory (DuckDB keeps only
the accounting there).

The person is found in the landing (a real CRM extract with a hand-written
contact) and in Spark's marts; every Parquet file that holds them — the
landing's, Spark's tables' (a partitioned history too) and a publication's
marts — is rewritten without them, Hadoop's stale checksum beside it goes,
and the extract log counts the erased record. Spark's tables here are written
in its layout (part files, a ``.crc`` beside each, ``_SUCCESS``, partition
folders); tests/spark/test_incremental_nights.py erases on Spark itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from audiences.cli import main
from audiences.config import settings
from audiences.erasure import read_log
from audiences.extract.landing import EntityResult
from audiences.load import load_results
from audiences.pipeline import erase_step, extract_step
from tests.conftest import END, use_sources

PERSON = (
    "990001,Zebedee.Q@Quartermaine.ie,Zebedee,Quartermaine,+353 87 123 4567,IE,Sligo,F91,"
    "1980-01-01,2026-11-20T08:00:00Z,2026-11-22T08:00:00Z,true,2026-11-20T08:00:00Z,"
    "signup_form,subscriber,false\n"
)
ZEB, OTHER = "cust-zebedee", "cust-other"
PART = "part-00000-5f1c0d2e-8a4b-4c1e-9d7f-2b3c4d5e6f70-c000.snappy.parquet"


def _spark_table(folder: Path, rows: str, partition: str = "") -> Path:
    """A table folder as Spark writes one: a part file, its checksum, _SUCCESS."""
    target = folder / partition
    target.mkdir(parents=True)
    part = target / PART
    with duckdb.connect() as con:  # its own: the module's default connection is shared
        con.execute(f"copy ({rows}) to '{part}' (format parquet, compression snappy)")
    (target / f".{PART}.crc").write_bytes(b"crc\x00")
    (folder / "_SUCCESS").touch()
    return part


def _rows(path: Path) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(f"select * from read_parquet('{path}') order by all").fetchall()


@pytest.fixture
def spark_home(home, monkeypatch, sources_through_end):
    monkeypatch.setenv("AUDIENCES_ENGINE", "spark")
    use_sources(home, sources_through_end)
    with (home / "sources" / "crm" / f"contacts_{END:%Y%m%d}.csv").open("a") as handle:
        handle.write(PERSON)
    manifest = extract_step("crm", END, "test__spark")
    results = [EntityResult.from_dict(r) for r in json.loads(Path(manifest).read_text())]
    load_results(settings().warehouse, results, raw_rows=False)

    tables = Path(settings().spark_dir) / "tables"
    identities = (
        f"select * from (values ('{ZEB}', 'crm_contact:990001', 'crm_contact'),"
        f" ('{ZEB}', 'email:zebedee.q@quartermaine.ie', 'email'),"
        f" ('{OTHER}', 'crm_contact:12', 'crm_contact'))"
        " as t(customer_id, identifier_key, identifier_type)"
    )
    customers = (
        f"select * from (values ('{ZEB}', 'zebedee.q@quartermaine.ie', '+353871234567'),"
        f" ('{OTHER}', 'other@example.ie', null)) as t(customer_id, email, phone_e164)"
    )
    parts = {
        "identities": _spark_table(tables / "marts.db" / "customer_identities", identities),
        "customers": _spark_table(tables / "marts.db" / "dim_customers", customers),
        "log": _spark_table(
            tables / "intermediate.db" / "int_customer_id_assignments",
            f"select identifier_key, customer_id from ({identities})",
            "assigned_as_of=2026-11-21",
        ),
        "published": _spark_table(
            settings().publications / "2026-11-21" / "marts" / "dim_customers", customers
        ),
    }
    (settings().publications / "2026-11-21" / "publication.json").write_text("{}")
    return parts


def test_erasure_on_spark_rewrites_the_landing_and_sparks_parquet(spark_home):
    assert main(["erase", "--email", "zebedee.q@quartermaine.ie", "--note", "ticket 6001"]) == 0
    erase_step(END, "test__spark")

    for part in spark_home.values():
        assert ZEB not in {row[0] for row in _rows(part)} | {row[1] for row in _rows(part)}
        assert OTHER in {row[0] for row in _rows(part)} | {row[1] for row in _rows(part)}
        assert not part.with_name(f".{part.name}.crc").exists()
    with duckdb.connect() as con:
        landed = con.execute(
            f"select count(*) filter (contact_id = 990001), count(*) from read_parquet("
            f"'{settings().landing}/crm/contacts/**/*.parquet', hive_partitioning = false)"
        ).fetchone()
    assert landed[0] == 0 and landed[1] > 0

    removed = read_log(settings())[-1]["removed"]
    assert removed["marts.dim_customers"] == 1
    assert removed["marts.customer_identities"] == 2
    assert removed["intermediate.int_customer_id_assignments"] == 2
    assert removed["publications/2026-11-21/marts.dim_customers"] == 1
    erased = duckdb.connect(str(settings().warehouse), read_only=True).execute(
        "select records_erased from audit.extract_log"
        " where source = 'crm' and entity = 'contacts' and logical_date = ?",
        [END],
    )
    assert erased.fetchall() == [(1,)]
