"""The run report is rendered from templates with autoescaping: text from a run (an
error, a note, a run id) can never become markup; failed checks come first, checks
that compared nothing are collapsed."""

from __future__ import annotations

import json

import pytest

from audiences.config import settings
from audiences.quality.results import CheckResult, GateResult, gate_result_path
from audiences.report.html import write_run_report
from audiences.report.steps import step_timer
from tests.conftest import END

INJECTED = '<img src=x onerror="alert(1)">'


def _gate(name: str, checks: list[CheckResult]) -> None:
    path = gate_result_path(settings(), END, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = GateResult(gate=name, as_of=END.isoformat(), checks=checks, data_docs=None, seconds=1)
    path.write_text(json.dumps(result.to_dict()))


def test_text_from_a_run_is_escaped_and_failures_come_first(home):
    with pytest.raises(RuntimeError), step_timer(settings(), END, f"run{INJECTED}", "raw_gate"):
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
    # The failed check is named at the top, before the steps, and first in its table.
    summary = page.index("Failed checks")
    assert summary < page.index('id="steps"')
    assert "expect_column_values_to_be_unique(export_contact_key)" in page[summary:]
    table = page[page.index('id="quality-checks"') :]
    assert table.index("export_contact_key") < table.index(">email<")
    # Passing checks, and the drift check that compared nothing, are collapsed.
    folded = page.split("<details>")[1:]
    assert "1 checks passed" in folded[0] and ">email<" in folded[0].split("</details>")[0]
    assert "1 checks not compared" in folded[1] and "new segment" in folded[1]
    # A long page opens with its contents.
    assert page.index('<nav class="toc"') < page.index('id="steps"')


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
                                "trained_as_of": "2026-11-19", "retrained": False,
                                "model_age_days": 3, "quality": quality},
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
    assert "<td>2026-11-19</td><td>reused, 3 days old</td>" in section
    assert section.count("<circle") == 3  # the reliability chart's bins, one chart
    personas = section[section.index('id="personas"') :]
    assert "k=2: 0.500" in personas and "ordered recently" in personas and "70.0%" in personas


def test_trend_tooltips_read_first_to_last_in_the_figure_s_own_unit():
    from audiences.report.charts import sparkline
    from audiences.report.html import _rate

    rates = sparkline([0.034, 0.012, 0.02], fmt=_rate)
    assert "<title>3 runs: from 3.4% to 2.0% (lowest 1.2%, highest 3.4%)</title>" in rates
    assert "<title>1 run: 1,250</title>" in sparkline([1250.0])


def test_a_published_run_that_is_no_longer_live_says_so_in_the_index(home):
    from audiences.publish import publication
    from audiences.report.html import write_index

    for day in ("2026-11-21", "2026-11-22"):
        folder = settings().publications / f"{day}__run"
        (folder / "exports" / day).mkdir(parents=True)
        record = {"name": folder.name, "as_of": day, "run_id": f"scheduled__{day}"}
        (folder / publication.RECORD).write_text(json.dumps(record))
        publication.publish(settings(), folder)
        run = {"as_of": day, "run_id": f"scheduled__{day}", "status": "published",
               "why": "every gate passed; the publication is live", "seconds": 1,
               "critical_failures": 0, "warnings": 0}  # fmt: skip
        (settings().reports / day).mkdir(parents=True)
        (settings().reports / day / "run.json").write_text(json.dumps(run))
    index = write_index(settings()).read_text()
    rows = {line[:60]: line for line in index.split("<tr>")[2:]}
    older = next(row for row in rows.values() if "2026-11-21/report.html" in row)
    newer = next(row for row in rows.values() if "2026-11-22/report.html" in row)
    assert "no longer live: the publication of 2026-11-22 is live" in older
    assert "the publication is live" in newer and "no longer" not in newer


def test_check_samples_show_file_names_not_local_folders():
    from audiences.quality.results import _without_paths

    key = "/home/ann/audiences/data/sources/crm/contacts_20261122.csv#17"
    assert _without_paths(key) == "contacts_20261122.csv#17"
    assert _without_paths("xxx9@xxxx.xx") == "xxx9@xxxx.xx"


def test_the_summary_lists_a_trend_oldest_first_without_greater_than_signs():
    from audiences.report.summary import _kpi_lines

    rows = [("vip", 7, f"2026-11-{d}", 100, rate, 10.0, 0.3, 0.1)
            for d, rate in ((10, 0.05), (11, 0.02), (12, 0.04))]  # fmt: skip
    (line,) = [line for line in _kpi_lines(rows) if line.startswith("  vip")]
    assert line.endswith("5.0%, 2.0%, 4.0% (oldest first)") and " > " not in line
