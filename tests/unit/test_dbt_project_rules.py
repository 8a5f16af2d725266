"""The dbt project follows the rules dbt-project-evaluator checks, on dbt's own manifest.

`make evaluate` runs the evaluator itself (its packages are not the
project's); these tests keep its main rules in every `make test`. Staging
models read one source and join no other model; every model has a tested
grain; model names follow the prefixes the project configures (the
evaluator's ``*_prefixes`` vars); every active segment's audience is an
exposure owned by the segment's owner, on public models with enforced
contracts; every source table's freshness is judged on a business
timestamp, not on when it was extracted; each of the evaluator's exceptions
names something of the project and says why; the nightly build's two parts
(selectors.yml) are one whole build.
"""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from audiences.config import DBT_PROJECT_DIR
from tests.conftest import plain_dbt

GRAIN_TESTS = {"unique", "unique_combination"}
# The evaluator's exceptions, each with its reason (dbt_project/evaluation/).
EXCEPTIONS = DBT_PROJECT_DIR / "evaluation" / "dbt_project_evaluator_exceptions.csv"


def _exceptions(fct_name: str) -> set[str]:
    with EXCEPTIONS.open() as rows:
        return {r["id_to_exclude"] for r in csv.DictReader(rows) if r["fct_name"] == fct_name}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    work = tmp_path_factory.mktemp("dbt_parse")
    plain_dbt(work, "parse", "--quiet")
    return work


@pytest.fixture(scope="module")
def manifest(parsed) -> dict:
    return json.loads((parsed / "target" / "manifest.json").read_text())


def _models(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "audiences"
    }


def test_staging_models_read_one_source_and_join_no_model(manifest):
    broken = {}
    for name, node in _models(manifest).items():
        if node["fqn"][1] != "staging":
            continue
        upstream = node["depends_on"]["nodes"]
        sources = [u for u in upstream if u.startswith("source.")]
        models = [u for u in upstream if u.startswith("model.")]
        if len(sources) != 1 or models:
            broken[name] = upstream
    assert broken == {}


def test_every_model_has_a_tested_grain(manifest):
    tested = {
        node["attached_node"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") in GRAIN_TESTS
    }
    untested = {
        name
        for name, node in _models(manifest).items()
        if node["unique_id"] not in tested
        and name not in _exceptions("fct_missing_primary_key_tests")
    }
    assert untested == set()


def test_model_names_follow_the_configured_prefixes(manifest):
    project_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    prefixes = {
        layer: tuple(project_vars[f"{layer}_prefixes"])
        for layer in ("staging", "intermediate", "marts")
    }
    misnamed = {
        name
        for name, node in _models(manifest).items()
        if node["fqn"][1] in prefixes and not name.startswith(prefixes[node["fqn"][1]])
    }
    assert misnamed == set()


def test_every_active_segment_audience_is_an_exposure(manifest):
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    for name, node in _models(manifest).items():
        if "segment" not in node["tags"] or node["config"]["meta"].get("status") != "active":
            continue
        exposure = exposures.pop(f"{name}_audience", None)
        assert exposure is not None, f"segment {name} has no exposure {name}_audience"
        assert exposure["owner"]["name"] == node["config"]["meta"]["owner"]
        assert set(exposure["depends_on"]["nodes"]) == {
            node["unique_id"],
            "model.audiences.audience_members",
        }
    assert exposures == {}, "exposures of segments that are not active"


def test_the_audiences_read_public_models_with_enforced_contracts(manifest):
    nodes = manifest["nodes"]
    parents = {p for e in manifest["exposures"].values() for p in e["depends_on"]["nodes"]}
    private = {
        nodes[p]["name"]
        for p in parents
        if nodes[p]["access"] != "public" or not nodes[p]["config"]["contract"]["enforced"]
    }
    assert parents and private == set()


def test_every_evaluator_exception_names_the_project_and_says_why(manifest):
    names = {n["name"] for n in manifest["nodes"].values() if n["package_name"] == "audiences"}
    names |= {f"{s['source_name']}.{s['name']}" for s in manifest["sources"].values()}
    with EXCEPTIONS.open() as rows:
        exceptions = list(csv.DictReader(rows))
    assert exceptions
    for row in exceptions:
        assert row["fct_name"].startswith("fct_") and len(row["comment"]) > 40, row
        # The type "other" is the segments': models outside the three layers.
        assert row["id_to_exclude"] in names or row["column_name"] == "model_type", row
    others = {name for name, node in _models(manifest).items() if node["fqn"][1] not in
              ("staging", "intermediate", "marts")}  # fmt: skip
    assert others and all("segment" in _models(manifest)[name]["tags"] for name in others)


def test_freshness_is_judged_on_business_timestamps(manifest):
    fields, judged = {}, set()
    for source in manifest["sources"].values():
        fields[source["name"]] = source["loaded_at_field"]
        if (source["config"].get("freshness") or {}).get("warn_after", {}).get("count"):
            judged.add(source["source_name"])
    assert {name for name, field in fields.items() if field in (None, "_extracted_at")} == set()
    # Rare tables (refunds, the catalogue) may go unjudged, but no whole source.
    assert judged == {"crm", "web", "shop"}


def _listed(work, *selection: str) -> set[str]:
    out = plain_dbt(work, "ls", *selection, "--quiet", "--resource-types", "model", "test",
                    "unit_test", "seed", "exposure", "--output", "json", "--output-keys",
                    "unique_id")  # fmt: skip
    return {json.loads(line)["unique_id"] for line in out.splitlines() if line.startswith("{")}


def test_the_nightly_builds_two_parts_are_one_whole_build(parsed):
    # The DAG builds --selector features, predicts, then --selector from_scores.
    features = _listed(parsed, "--selector", "features")
    rest = _listed(parsed, "--selector", "from_scores")
    assert "model.audiences.int_customer_features" in features
    assert {"model.audiences.int_customer_scores", "model.audiences.dim_customers"} <= rest
    assert not features & rest
    assert features | rest == _listed(parsed)


def test_the_seeds_are_the_top_level_seeds_folder(manifest):
    """The repository's layout: reference CSVs in seeds/ at the top, beside dbt_project/,
    and plain dbt from dbt_project/ finds every one of them."""
    top = DBT_PROJECT_DIR.parent / "seeds"
    seeds = {
        node["name"]: node["original_file_path"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "seed"
    }
    assert set(seeds) == {p.stem for p in top.glob("*.csv")}
    assert all(path.startswith("../seeds/") for path in seeds.values()), seeds
    assert not (DBT_PROJECT_DIR / "seeds").exists()
