"""Plain dbt wires every segment into segment_memberships: its `-- depends_on:` lines
name exactly the segment models, and `audiences segment new` keeps them so."""

from __future__ import annotations

from audiences.config import DBT_PROJECT_DIR, settings
from audiences.segments import add_dependency, dependency_lines, scaffold_segment
from audiences.transform import parse_project
from tests.conftest import copy_project, plain_dbt

SEGMENTS = DBT_PROJECT_DIR / "models" / "segments"


def list_exposures(config) -> dict[str, dict]:
    manifest = parse_project(config, quiet=True)
    return {
        e.name: {"owner": e.owner.name, "depends_on": sorted(e.depends_on.nodes)}
        for e in manifest.exposures.values()
    }


def test_every_segment_model_is_named():
    models = sorted(p.stem for p in SEGMENTS.glob("*.sql"))
    assert dependency_lines(settings()) == models


def test_a_new_segment_is_added_in_order(home, monkeypatch):
    monkeypatch.setenv("AUDIENCES_DBT_PROJECT_DIR", str(copy_project(home)))
    add_dependency(settings(), "big_spenders")
    add_dependency(settings(), "big_spenders")  # once only
    names = dependency_lines(settings())
    assert names == sorted([*(p.stem for p in SEGMENTS.glob("*.sql")), "big_spenders"])


def test_a_new_segment_declares_its_audience_exposure(home, monkeypatch):
    monkeypatch.setenv("AUDIENCES_DBT_PROJECT_DIR", str(copy_project(home)))
    monkeypatch.setenv("AUDIENCES_WAREHOUSE", str(home / "scaffold.duckdb"))
    scaffold_segment(settings(), "big_spenders", owner="growth: emea")
    exposures = list_exposures(settings())
    assert exposures["big_spenders_audience"] == {
        "owner": "growth: emea",
        "depends_on": ["model.audiences.audience_members", "model.audiences.big_spenders"],
    }


def test_plain_dbt_lists_every_segment_upstream_of_memberships(home):
    listed = plain_dbt(
        home, "ls", "--select", "+segment_memberships", "--resource-type", "model",
        "--output", "name",
    )  # fmt: skip
    assert {p.stem for p in SEGMENTS.glob("*.sql")} <= set(listed.split())
