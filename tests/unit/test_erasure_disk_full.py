"""An erasure on a nearly full disk never empties the warehouse.

The data folder lives on a small tmpfs the test mounts, sized against the
loaded warehouse: too small for the compaction's check (refused up front), or
big enough to pass a relaxed check but not to finish the copy (DuckDB runs
out of space while writing it). Either way every raw row stays, nothing is
left beside the warehouse, and the request stays pending.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from audiences.config import settings
from audiences.erasure import compaction, pending, request_erasure
from audiences.erasure.purge import erase_pending
from audiences.errors import DiskSpaceError
from tests.conftest import END, SHELL_SETTINGS, extract_and_load, use_sources


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, sources_through_end) -> Path:
    """A warehouse with one night loaded (no dbt: raw and audit only)."""
    home = tmp_path_factory.mktemp("loaded")
    with pytest.MonkeyPatch.context() as patch:
        for var in SHELL_SETTINGS:
            patch.delenv(var, raising=False)
        patch.setenv("AUDIENCES_HOME", str(home))
        use_sources(home, sources_through_end)
        extract_and_load(END)
    return home / "warehouse.duckdb"


@pytest.fixture
def small_disk(tmp_path):
    """Mount a tmpfs of a given size at a new folder; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mounted = []

    def mount(size: int) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], check=True
        )
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=True)


def _counts(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables()"
            " where schema_name in ('raw', 'audit')"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f"select count(*) from {s}.{t}").fetchone()[0]
            for s, t in tables
        }
    finally:
        con.close()


def _home_on(disk: Path, warehouse: Path, monkeypatch) -> str:
    """Put a copy of the warehouse on ``disk`` as AUDIENCES_HOME; request an erasure."""
    shutil.copy(warehouse, disk / "warehouse.duckdb")
    monkeypatch.setenv("AUDIENCES_HOME", str(disk))
    monkeypatch.setenv("AUDIENCES_DUCKDB_TEMP_DIR", str(disk / "tmp"))
    con = duckdb.connect(str(warehouse), read_only=True)
    email = con.execute(
        "select email from raw.crm_contacts where email like '%@%.%' order by contact_id limit 1"
    ).fetchone()[0]
    con.close()
    request_erasure(settings(), email=email)
    return email


def test_too_little_space_is_refused_before_anything_changes(home, loaded, small_disk, monkeypatch):
    size = loaded.stat().st_size
    disk = small_disk(size + compaction.RESERVE + size // 2)
    _home_on(disk, loaded, monkeypatch)
    before = _counts(disk / "warehouse.duckdb")

    with pytest.raises(DiskSpaceError, match=r"erasure postponed.*stays pending"):
        erase_pending(settings())

    assert _counts(disk / "warehouse.duckdb") == before
    assert len(pending(settings())) == 1
    assert sorted(p.name for p in disk.iterdir()) == ["erasure", "warehouse.duckdb"]


def test_a_copy_that_runs_out_of_space_leaves_the_warehouse_whole(
    home, loaded, small_disk, monkeypatch
):
    # Enough for a relaxed check, not for the copy's write-ahead log and checkpoint:
    # the size at which the warehouse used to lose every raw and audit row.
    size = loaded.stat().st_size
    disk = small_disk(int(size * 2.6))
    checked = compaction.SPACE_FACTOR, compaction.RESERVE
    monkeypatch.setattr(compaction, "SPACE_FACTOR", 0.5)
    monkeypatch.setattr(compaction, "RESERVE", 0)
    email = _home_on(disk, loaded, monkeypatch)
    before = _counts(disk / "warehouse.duckdb")

    with pytest.raises(compaction.CompactionError, match="the file is unchanged"):
        erase_pending(settings())

    after = _counts(disk / "warehouse.duckdb")
    # The person's rows were deleted before the compaction; everyone else's remain.
    assert after["raw.crm_contacts"] >= before["raw.crm_contacts"] - 5
    assert {t: n for t, n in after.items() if n != before[t]}.keys() <= {
        "raw.crm_contacts",
        "raw.crm_email_activity",
        "raw.shop_customers",
        "raw.shop_orders",
        "raw.shop_order_items",
        "raw.web_events",
        "audit.quarantine",
    }
    assert sum(after.values()) > 0.99 * sum(before.values())
    assert not list(disk.glob("*.wal")) and not list(disk.glob("*.compacting.*"))
    assert len(pending(settings())) == 1

    # With room again, the next run carries the request out.
    monkeypatch.setattr(compaction, "SPACE_FACTOR", checked[0])
    monkeypatch.setattr(compaction, "RESERVE", checked[1])
    shutil.move(disk / "warehouse.duckdb", disk.parent / "warehouse.duckdb")
    monkeypatch.setenv("AUDIENCES_WAREHOUSE", str(disk.parent / "warehouse.duckdb"))
    (done,) = erase_pending(settings())
    assert not pending(settings())
    con = duckdb.connect(str(disk.parent / "warehouse.duckdb"), read_only=True)
    assert not con.execute(
        "select count(*) from raw.crm_contacts where lower(email) = lower(?)", [email]
    ).fetchone()[0]
    con.close()
    assert done["request_id"]
