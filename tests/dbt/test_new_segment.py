"""An analyst adds a segment the way docs/segments.md says, and nothing else.

The dbt project is copied, so the new files do not touch the repository.
"""

from __future__ import annotations

import csv

import pytest
import yaml

from audiences.cli import main
from audiences.config import settings
from audiences.publish import publish, stage
from audiences.segment_preview import preview_segment
from audiences.segments import SegmentError, list_segments, scaffold_segment
from audiences.transform import dbt_build, run_dbt
from tests.conftest import END, copy_project, extract_and_load, use_sources, warehouse_query

pytestmark = pytest.mark.dbt


@pytest.fixture
def project(home, monkeypatch):
    """A copy of the dbt project (and the seeds it reads) the test may change."""
    copy = copy_project(home / "project")
    monkeypatch.setenv("AUDIENCES_DBT_PROJECT_DIR", str(copy))
    return copy


def test_a_new_segment_reaches_memberships_and_exports(project, home, sources_through_end, capsys):
    use_sources(home, sources_through_end)
    extract_and_load(END)
    assert (
        main(
            [
                "segment",
                "new",
                "big_spenders",
                "--owner",
                "analytics",
                "--priority",
                "5",
                "--rule",
                "Net revenue above 300 EUR.",
                "--where",
                "net_revenue_eur > {{ var('big_spenders_min_revenue_eur', 300) }}",
            ]
        )
        == 0
    )
    assert (project / "models" / "segments" / "big_spenders.sql").is_file()
    assert (project / "models" / "segments" / "big_spenders.yml").is_file()

    dbt_build(settings(), END)
    publish(settings(), stage(settings(), END, "test"))

    expected = {
        c
        for (c,) in warehouse_query(
            "select customer_id from marts.dim_customers where net_revenue_eur > 300"
        )
    }
    assert expected
    members = warehouse_query(
        "select customer_id, is_primary from marts.segment_memberships"
        " where segment = 'big_spenders'"
    )
    assert {c for c, _ in members} == expected
    assert all(is_primary for _, is_primary in members)  # priority 5 outranks vip (10)
    assert warehouse_query(
        "select owner, priority, rule_description from marts.dim_segments"
        " where segment = 'big_spenders'"
    ) == [("analytics", 5, "Net revenue above 300 EUR.")]

    with (settings().exports / END.isoformat() / "big_spenders.csv").open() as handle:
        exported = {row["customer_id"] for row in csv.DictReader(handle)}
    contactable = {
        c
        for (c,) in warehouse_query(
            "select customer_id from marts.dim_customers where is_contactable"
        )
    }
    assert exported and exported <= expected & contactable

    # The segment is a parent of segment_memberships for any dbt command run
    # through the project's runner.
    parents = run_dbt(
        settings(),
        ["ls", "--select", "+segment_memberships", "--resource-type", "model", "--output", "name"],
    ).result
    assert "big_spenders" in parents and "vip" in parents

    report = preview_segment(settings(), "big_spenders")
    assert f"members:      {len(expected):>9,}" in report
    emails = [
        e
        for (e,) in warehouse_query("select email from marts.dim_customers where email is not null")
    ]
    assert "***@***." in report  # the sample is masked
    assert not [e for e in emails if e in report]
    listed = {s.name: s for s in list_segments(settings())}
    assert listed["big_spenders"].priority == 5

    # A rule that does not run is the analyst's message, not a traceback.
    scaffold_segment(settings(), "broken", owner="me", where="lifetime_value > 3")
    assert main(["segment", "preview", "broken"]) == 2
    err = capsys.readouterr().err
    assert "segment broken" in err and "lifetime_value" in err and "Traceback" not in err

    _preview_runs_one_query_and_reads_no_file(project, home, capsys)


LEAK = (
    "true) as x; copy (select email, phone_e164, first_name, last_name from marts.dim_customers)"
    " to '{path}' (header); select customer_id from marts.dim_customers where (true"
)
# The same, shaped to close the preview's own wrapping of the segment's query.
WRAPPED_LEAK = (
    "true) as x; copy (select email, phone_e164, first_name, last_name from marts.dim_customers)"
    " to '{path}' (header); select * from (select customer_id from marts.dim_customers where (true)"
)


def _preview_runs_one_query_and_reads_no_file(project, home, capsys) -> None:
    """A segment file edited by hand to run a second statement, or to read or write a
    file, is refused by the preview: nothing is written, nothing read."""
    leak = home / "leak.csv"
    with pytest.raises(SegmentError, match="not one SQL condition"):
        scaffold_segment(settings(), "leaky", owner="me", where=LEAK.format(path=leak))
    scaffold_segment(settings(), "leaky", owner="me", where="true")
    sql = project / "models" / "segments" / "leaky.sql"
    sql.write_text(sql.read_text().replace("    true\n", f"    {WRAPPED_LEAK.format(path=leak)}\n"))
    assert main(["segment", "preview", "leaky"]) == 2
    assert "is not one SELECT query" in capsys.readouterr().err
    assert not leak.exists()

    secret = home / "secret.csv"
    secret.write_text("customer_id\n1\n")
    sql.write_text(
        sql.read_text().replace(
            WRAPPED_LEAK.format(path=leak),
            f"customer_id in (select customer_id from read_csv('{secret}'))",
        )
    )
    assert main(["segment", "preview", "leaky"]) == 2
    assert "file system operations are disabled" in capsys.readouterr().err


def test_scaffolding_refuses_a_taken_name_or_priority(project):
    with pytest.raises(SegmentError, match="already exists"):
        scaffold_segment(settings(), "vip", owner="me")
    with pytest.raises(SegmentError, match="priority 10 belongs to segment vip"):
        scaffold_segment(settings(), "another", owner="me", priority=10)
    with pytest.raises(SegmentError, match="not a valid segment name"):
        scaffold_segment(settings(), "Big Spenders", owner="me")
    with pytest.raises(SegmentError, match="'select' is an SQL keyword"):
        scaffold_segment(settings(), "select", owner="me")
    with pytest.raises(SegmentError, match="priority -5 is not valid"):
        scaffold_segment(settings(), "negative", owner="me", priority=-5)
    for where in (
        LEAK.format(path="/tmp/leak.csv"),
        "true union select 1",
        "drop table x",
        "{{ run_query('select 1') }} > 0",
        "true; select 1",
    ):
        with pytest.raises(SegmentError, match="not one SQL condition"):
            scaffold_segment(settings(), "refused", owner="me", where=where)
    assert not (project / "models" / "segments" / "refused.sql").exists()


def test_owner_and_rule_with_yaml_characters_stay_text(project):
    rule = 'Bought "twice": in the last #3 days — see: the brief'
    _, entry = scaffold_segment(settings(), "twice_buyers", owner="growth: emea", rule=rule)
    model = yaml.safe_load(entry.read_text())["models"][0]
    assert model["description"] == rule
    assert model["config"]["meta"] == {"owner": "growth: emea", "priority": 220, "status": "active"}
    listed = {s.name: s for s in list_segments(settings())}
    assert listed["twice_buyers"].owner == "growth: emea"
