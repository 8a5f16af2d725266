"""Every night has a report: a run that failed at its first extract still writes one,
saying which stage failed, why, and what stays live."""

from __future__ import annotations

import json
import shutil

import pytest

from audiences.errors import SourceMissingError
from audiences.pipeline import extract_step, report_step
from tests.conftest import END, use_sources


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
