"""Every night has a report: a run that failed at its first extract still writes one,
saying which step failed, why, and what stays live."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audiences.errors import SourceMissingError, WarehouseLockedError
from audiences.pipeline import extract_step, load_step, report_step
from audiences.report.reserve import RESERVE_BYTES
from tests.conftest import DAY_BEFORE, END, use_sources


def test_a_night_whose_extract_failed_has_a_report(home, sources_through_end):
    use_sources(home, sources_through_end)
    shutil.rmtree(home / "sources" / "crm")
    with pytest.raises(SourceMissingError):
        extract_step("crm", END, "scheduled__2026-11-22")
    page = report_step(END, "scheduled__2026-11-22")

    run = json.loads((home / "reports" / END.isoformat() / "run.json").read_text())
    assert run["status"] == "failed"
    assert "extract_crm" in run["why"] and "AUDIENCES_CRM_DIR" in run["why"]
    html = (home / "reports" / END.isoformat() / "report.html").read_text()
    assert str(page).endswith("report.html")
    assert "nothing is published yet" in html
    summary = (home / "reports" / END.isoformat() / "summary.txt").read_text()
    assert "nothing was loaded" in summary


HOLD = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
    " print('open', flush=True); time.sleep(120)"
)


def test_a_night_whose_warehouse_stayed_locked_has_a_short_report(home, sources_through_end):
    use_sources(home, sources_through_end)
    extract_step("crm", END, "scheduled__2026-11-22")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home / "warehouse.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseLockedError):
            load_step([], END, "scheduled__2026-11-22")
        page = report_step(END, "scheduled__2026-11-22")
    finally:
        holder.kill()
        holder.wait()

    run = json.loads((home / "reports" / END.isoformat() / "run.json").read_text())
    assert run["status"] == "failed" and run["report"] == "short"
    assert f"PID {holder.pid}" in run["why"] and run["why"].startswith("load:")
    html = Path(page).read_text()
    assert "Short report" in html and "extract_crm" in html and "held open by" in html
    assert "2026-11-22" in (home / "reports" / "index.html").read_text()


def _fill(disk: Path) -> None:
    """Write a file until the disk is full."""
    with (disk / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 1024 * 1024)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_night_on_a_full_disk_has_a_report_and_keeps_its_cause(
    home, tmp_path, monkeypatch, sources_through_end
):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], check=True)
    try:
        monkeypatch.setenv("AUDIENCES_HOME", str(disk))
        monkeypatch.setenv("AUDIENCES_CRM_DIR", str(sources_through_end / "crm"))
        # A first night reserves room for the report.
        report_step(DAY_BEFORE, "scheduled__2026-11-21")
        assert (disk / "reports" / ".reserve").stat().st_size == RESERVE_BYTES
        _fill(disk)

        with pytest.raises(Exception) as failure:
            extract_step("crm", END, "scheduled__2026-11-22")
        page = report_step(END, "scheduled__2026-11-22")

        run = json.loads((disk / "reports" / END.isoformat() / "run.json").read_text())
        assert run["status"] == "failed" and run["why"].startswith("extract_crm:")
        # The cause, not only the first line of the error.
        assert "No space left on device" in run["why"] or "disk is full" in run["why"], (
            run["why"],
            failure.value,
        )
        assert "extract_crm" in Path(page).read_text()
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_failure_keeps_its_cause_and_masks_people(home):
    from audiences.errors import failure_reason
    from audiences.transform.dbt import DbtBuildError

    error = DbtBuildError(
        "dbt build failed:\n  int_customer_features: Out of Memory Error: failed to allocate"
        " 2.0 GiB\n  unique_dim_customers_email: ann.lee@example.org, +353 87 123 4567"
    )
    reason = failure_reason(error)
    assert reason.startswith("DbtBuildError: dbt build failed: int_customer_features: Out of")
    assert "unique_dim_customers_email" in reason
    assert "ann.lee" not in reason and "123 4567" not in reason
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise DbtBuildError("dbt build could not run") from exc
    except DbtBuildError as exc:
        assert "caused by OSError: [Errno 28] No space left on device" in failure_reason(exc)
