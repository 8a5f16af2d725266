"""Holdout lift finds a planted effect, and only where it was planted.

Sources of 8,000 customers; the night of D0 builds the segments, and the
generator then plants an effect (audiences.generate.treatment): each address
of one segment's audience buys once more, with probability UPLIFT, in the
seven days after D0 — the holdout group, not in the audience, gains nothing.
The night a week later measures the cohort of D0: the audience-vs-holdout
interval of that segment's conversion lift must contain the planted effect
and exclude 0; its A/B comparison (both groups treated) and every other
segment's holdout comparison (no effect planted there), on conversion and on
revenue, must contain 0 in the large majority of cases.
"""

from __future__ import annotations

import csv
from datetime import timedelta

import duckdb
import pytest

from audiences.config import settings
from audiences.generate import GenerateOptions, generate
from audiences.generate.treatment import treat
from audiences.measure.lift import read_segment_lift, segment_lifts, write_segment_lift
from audiences.report.models import DuckDBModels
from audiences.report.summary import run_summary
from audiences.transform import dbt_build
from tests.conftest import END, SHELL_SETTINGS, extract_and_load, use_sources

pytestmark = pytest.mark.dbt

D0 = END - timedelta(days=7)
UPLIFT = 0.3


def _largest_audience(warehouse) -> tuple[str, list[str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    segment = con.execute(
        "select segment from marts.audience_members group by segment"
        " order by count(*) desc, segment limit 1"
    ).fetchone()[0]
    emails = con.execute(
        "select email from marts.audience_members where segment = ?", [segment]
    ).fetchall()
    con.close()
    return segment, [email for (email,) in emails]


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    home = tmp_path_factory.mktemp("lift")
    sources = tmp_path_factory.mktemp("lift_sources")
    generate(sources, GenerateOptions(customers=8000, days=60, end_date=END, seed=11))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIENCES_HOME", str(home))
        for var in SHELL_SETTINGS:  # or the night reads another test's shop
            patch.delenv(var, raising=False)
        use_sources(home, sources)
        extract_and_load(D0)
        dbt_build(settings(), D0)
        segment, emails = _largest_audience(settings().warehouse)
        audience = home / f"{segment}.csv"  # shaped like the exported audience file
        with audience.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email"])
            writer.writerows([e] for e in emails)
        planted = treat(home / "sources", audience, D0, UPLIFT, days=7, seed=3)
        extract_and_load(END)
        dbt_build(settings(), END)
        write_segment_lift(settings(), END)
        con = duckdb.connect(str(settings().warehouse), read_only=True)
        computed = segment_lifts(DuckDBModels(con))
        lifts = read_segment_lift(DuckDBModels(con), END)
        mart = con.execute(
            "select count(*), min(as_of), max(as_of), count(*) filter"
            " (where has_enough_data <> (verdict is null)) from marts.segment_lift"
        ).fetchone()
        con.close()
        summary = run_summary(settings(), END)
    seven = [x for x in lifts if x.window_days == 7]
    return segment, planted, seven, summary, (computed, lifts, mart)


def test_the_planted_effect_is_inside_the_interval_and_zero_is_not(measured):
    segment, planted, lifts, *_ = measured
    assert planted > 100
    (lift,) = [
        x for x in lifts
        if (x.segment, x.comparison, x.metric) == (segment, "audience vs holdout", "conversion")
    ]  # fmt: skip
    assert lift.verdict is None and lift.n_control >= 100
    # A member converts when they would have anyway, or when the email worked.
    expected = UPLIFT * (1 - lift.control)
    assert lift.absolute_low <= expected <= lift.absolute_high
    assert lift.absolute_low > 0


def test_where_no_effect_was_planted_the_intervals_contain_zero(measured):
    segment, _, lifts, *_ = measured
    null = [
        x for x in lifts
        if x.verdict is None and (x.segment != segment or x.comparison == "A vs B")
    ]  # fmt: skip
    assert len(null) >= 4
    missing = [
        (x.segment, x.comparison, x.metric)
        for x in null
        if not x.absolute_low <= 0 <= x.absolute_high
    ]
    # 95 % intervals: about one in twenty misses 0 by chance.
    assert len(missing) <= max(1, len(null) // 10), missing


def test_the_summary_shows_what_each_segment_did_and_its_lift(measured):
    segment, _, lifts, summary, _ = measured
    kpis = summary[summary.index("what the segments did (7 d") : summary.index("holdout lift")]
    row = next(line for line in kpis.splitlines() if line.split()[:2] == [segment, D0.isoformat()])
    assert len(row.split()) >= 8  # members, conversion, revenue, opens, clicks, trend
    (lift,) = [x for x in lifts if (x.segment, x.comparison, x.metric)
               == (segment, "audience vs holdout", "conversion")]  # fmt: skip
    assert f"{lift.absolute:+.1%} [{lift.absolute_low:+.1%}, {lift.absolute_high:+.1%}]" in summary


def test_the_night_keeps_its_lift_in_a_mart(measured):
    """marts.segment_lift holds the night's lifts, as computed from the cohort, with
    the night and an "enough data" flag; the report and the summary read it."""
    *_, (computed, stored, mart) = measured
    assert stored == computed and len(stored) >= 8
    rows, first, last, inconsistent = mart
    assert (rows, first, last, inconsistent) == (len(computed), END, END, 0)
