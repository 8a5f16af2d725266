"""The run report is rendered from templates with autoescaping: text from a run (an
error, a note, a run id) can never become markup; failed checks come first, checks
that compared nothing are collapsed."""

from __future__ import annotations

import json

import pytest

from audiences.config import settings
from audiences.quality.gates import CheckResult, GateResult, gate_result_path
from audiences.report.html import write_run_report
from audiences.report.stages import stage_timer
from tests.conftest import END

INJECTED = '<img src=x onerror="alert(1)">'


def _gate(name: str, checks: list[CheckResult]) -> None:
    path = gate_result_path(settings(), END, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = GateResult(gate=name, as_of=END.isoformat(), checks=checks, data_docs=None, seconds=1)
    path.write_text(json.dumps(result.to_dict()))


def test_text_from_a_run_is_escaped_and_failures_come_first(home):
    with pytest.raises(RuntimeError), stage_timer(settings(), END, f"run{INJECTED}", "raw_gate"):
        raise RuntimeError(f"broken {INJECTED}")
    _gate("raw", [
        CheckResult("raw", "raw_crm_contacts", "expect_column_values_to_not_be_null", "email",
                    "warning", True),
        CheckResult("raw", "raw_crm_contacts", "expect_column_values_to_be_unique",
                    "export_contact_key", "critical", False, notes=INJECTED),
    ])  # fmt: skip
    _gate("drift", [
        CheckResult("drift", "segment_size_drift", "segment_size_change_within", "vip",
                    "critical", True, notes="new segment: nothing published to compare with",
                    compared=False),
    ])  # fmt: skip
    page = write_run_report(settings(), END).read_text()
    index = (home / "reports" / "index.html").read_text()

    for html in (page, index):
        assert INJECTED not in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    # The failed check is named at the top, before the stages, and first in its table.
    summary = page.index("Failed checks")
    assert summary < page.index('id="stages"')
    assert "expect_column_values_to_be_unique(export_contact_key)" in page[summary:]
    table = page[page.index('id="quality-checks"') :]
    assert table.index("export_contact_key") < table.index(">email<")
    # The drift check that compared nothing is collapsed.
    details = page[page.index("<details>") : page.index("</details>")]
    assert "1 checks not compared" in details and "new segment" in details


def test_the_predictive_scores_show_their_quality_and_why_one_is_not_used(home):
    quality = {
        "auc": 0.861, "brier": 0.079, "base_rate": 0.131, "top_decile_rate": 0.623,
        "top_decile_lift": 4.76, "baseline_auc": 0.759, "customers": 4559,
        "reliability": [[0.01, 0.012], [0.3, 0.27], [0.6, 0.63]],
    }  # fmt: skip
    path = settings().reports / END.isoformat() / "predictions.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"as_of": END.isoformat(), "scores": {
        "purchase_propensity": {"horizon_days": 30, "used": True, "reason": None, "seconds": 1.5,
                                "model": "logistic_regression", "version": "v1",
                                "quality": quality},
        "churn_risk": {"horizon_days": 90, "used": False, "seconds": 0.1,
                       "reason": f"not enough history {INJECTED}"},
    }, "personas": {"k": 2, "silhouettes": {"2": 0.5, "3": 0.44}, "personas": [
        {"persona": 0, "customers": 30, "share": 0.3, "description": "ordered recently",
         "centre": {"days_since_last_order": 12.0, "orders": 3.2}},
        {"persona": 1, "customers": 70, "share": 0.7, "description": "few or no orders",
         "centre": {"orders": 0.1}},
    ]}}))  # fmt: skip
    page = write_run_report(settings(), END).read_text()
    section = page[page.index('id="predictions"') : page.index('id="overlaps"')]
    assert "0.861" in section and "0.759" in section and "4.76\u00d7" in section
    assert "no: not enough history &lt;img" in section and INJECTED not in section
    assert section.count("<circle") == 3  # the reliability chart's bins, one chart
    personas = section[section.index('id="personas"') :]
    assert "k=2: 0.500" in personas and "ordered recently" in personas and "70.0%" in personas
