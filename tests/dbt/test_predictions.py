"""The predictive scores on generated data: point in time, checked, used or not.

Sources of 3,000 customers over 160 days, one night: the features build,
the predict step, then the build that reads the scores (the nightly DAG's
dbt_features, predict, dbt_build). The generator gives each person a latent
engagement that drives both their web visits and their purchases, so a
model can find more than recency, frequency and value alone.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pandas as pd
import pytest

from audiences.config import settings
from audiences.generate import GenerateOptions, generate
from audiences.pipeline import transform_step
from audiences.predict.record import read_quality
from audiences.predict.scores import predict
from audiences.report.summary import run_summary
from audiences.transform import dbt_build
from audiences.transform.dbt import scores_file
from tests.conftest import END, SHELL_SETTINGS, extract_and_load, use_sources, warehouse_query

pytestmark = pytest.mark.dbt

SCORES = ("purchase_propensity", "churn_risk")


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    home = tmp_path_factory.mktemp("predict")
    sources = tmp_path_factory.mktemp("predict_sources")
    generate(sources, GenerateOptions(customers=3000, days=160, end_date=END, seed=5))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIENCES_HOME", str(home))
        for var in SHELL_SETTINGS:
            patch.delenv(var, raising=False)
        use_sources(home, sources)
        extract_and_load(END)
        dbt_build(settings(), END, selector="features")
        patch.setenv("AUDIENCES_PERSONAS", "true")
        used = predict(settings(), END)
        dbt_build(settings(), END, selector="from_scores")
        yield used, patch


def test_both_scores_beat_the_rfm_baseline_out_of_time(night):
    used, _ = night
    assert used == {"purchase_propensity": True, "churn_risk": True}
    quality = read_quality(settings(), END)["scores"]
    for name in SCORES:
        measured = quality[name]["quality"]
        assert measured["auc"] > measured["baseline_auc"] >= 0.5, name
        assert measured["top_decile_lift"] > 1.5, name
        # Better probabilities than knowing only the rate (Brier score of a constant).
        rate = measured["base_rate"]
        assert measured["brier"] < rate * (1 - rate), name
        assert set(quality[name]["candidates_auc"]) == {"logistic_regression", "gradient_boosting"}
    summary = run_summary(settings(), END)
    assert "purchase_propensity  30 d" in summary and "churn_risk           90 d" in summary


def test_scores_are_traits_of_every_customer_they_are_defined_for(night):
    rows = warehouse_query(
        "select count(*), count(purchase_propensity),"
        " count(churn_risk), count(*) filter (where orders_placed > 0),"
        " count(*) filter (where churn_risk is not null and orders_placed = 0),"
        " count(distinct purchase_propensity_model), min(purchase_propensity),"
        " max(purchase_propensity)"
        " from marts.dim_customers"
    )
    customers, propensities, risks, buyers, risk_without_order, versions, low, high = rows[0]
    assert propensities == customers and versions == 1
    assert 0 < low < high < 1
    assert 0 < risks <= buyers and risk_without_order == 0


def test_the_score_segments_take_the_customers_scored_above_their_threshold(night):
    (missing,) = warehouse_query(
        "select count(*) from marts.dim_customers c"
        " where c.purchase_propensity >= 0.5 and c.customer_id not in"
        " (select customer_id from segments.high_propensity)"
    )[0]
    (members,) = warehouse_query("select count(*) from segments.high_propensity")[0]
    assert members > 0 and missing == 0


def test_personas_put_every_customer_in_one_described_cluster(night):
    personas = read_quality(settings(), END)["personas"]
    assert 2 <= personas["k"] <= 8
    assert max(personas["silhouettes"].values()) == personas["silhouettes"][str(personas["k"])]
    rows = warehouse_query(
        "select persona, count(*) from marts.dim_customers group by 1 order by 1"
    )
    assert [(p["persona"], p["customers"]) for p in personas["personas"]] == rows
    assert all(p["description"] for p in personas["personas"])


def test_training_repeats_under_its_seed(night):
    before = pd.read_parquet(scores_file(settings(), END))
    shutil.rmtree(settings().home / "models")
    predict(settings(), END)
    assert all(s["retrained"] for s in read_quality(settings(), END)["scores"].values())
    after = pd.read_parquet(scores_file(settings(), END))
    pd.testing.assert_frame_equal(before, after)


def test_a_score_below_its_floor_is_not_used_and_its_segment_keeps_its_rule(night):
    _, patch = night
    patch.setenv("AUDIENCES_PREDICTION_MIN_AUC", "0.999")
    used = predict(settings(), END)
    dbt_build(settings(), END, selector="from_scores")
    assert used == {"purchase_propensity": False, "churn_risk": False}
    quality = read_quality(settings(), END)["scores"]
    assert "below the floor 0.999" in quality["purchase_propensity"]["reason"]
    ((scored,),) = warehouse_query(
        "select count(*) from marts.dim_customers where purchase_propensity is not null"
    )
    by_rule = warehouse_query(
        "select customer_id from marts.dim_customers"
        " where completed_orders >= 2 and days_since_last_order <= 30 order by 1"
    )
    members = warehouse_query("select customer_id from segments.high_propensity order by 1")
    assert scored == 0 and members == by_rule and members


EARLIER = END - timedelta(days=3)


def _night(as_of) -> dict:
    """The night ``as_of``'s features (point in time) and its predict step; its record."""
    dbt_build(settings(), as_of, select="int_customer_features")
    predict(settings(), as_of)
    return read_quality(settings(), as_of)["scores"]


def test_a_backfill_trains_as_of_its_date_when_no_model_was_live(night):
    _, patch = night
    patch.delenv("AUDIENCES_PREDICTION_MIN_AUC")
    record = _night(EARLIER)
    for name in SCORES:
        assert record[name]["retrained"] and record[name]["used"], name
        assert record[name]["retrained_because"] == f"no model trained on or before {EARLIER}"
        assert record[name]["trained_as_of"] == EARLIER.isoformat()
    assert (settings().home / "models" / "churn_risk" / EARLIER.isoformat() / "model.json").exists()


def test_a_night_within_the_models_age_scores_with_the_stored_model(night):
    trained_for_end = settings().home / "models"
    for name in SCORES:
        shutil.rmtree(trained_for_end / name / END.isoformat())
    before = read_quality(settings(), EARLIER)["scores"]
    record = _night(END)
    for name in SCORES:
        assert not record[name]["retrained"] and record[name]["used"], name
        assert record[name]["version"] == before[name]["version"]
        assert record[name]["trained_as_of"] == EARLIER.isoformat()
        assert record[name]["model_age_days"] == 3
        assert record[name]["checked_on"] == "tonight, out of time"
        # Judged tonight on a later cut-off than it was validated on.
        assert record[name]["quality"] != before[name]["quality"]
        assert not (trained_for_end / name / END.isoformat()).exists()
    assert "3 days old, reused (tonight, out of time)" in run_summary(settings(), END)
    scores = pd.read_parquet(scores_file(settings(), END))
    assert set(scores["purchase_propensity_model"]) == {before["purchase_propensity"]["version"]}


def test_a_model_past_its_age_is_trained_again(night):
    _, patch = night
    patch.setenv("AUDIENCES_PREDICTION_RETRAIN_DAYS", "3")
    record = _night(END)
    for name in SCORES:
        assert record[name]["retrained"] and record[name]["used"], name
        assert record[name]["retrained_because"] == "3 days old (retrained after 3)"
        assert record[name]["trained_as_of"] == END.isoformat()
    summary = run_summary(settings(), END)
    version = record["churn_risk"]["version"]
    assert f"scored by {version}, trained as of {END}; retrained tonight: 3 days old" in summary


def _cutoffs() -> list:
    rows = warehouse_query(
        "select distinct cutoff_date from intermediate.int_customer_features order by 1"
    )
    return [(END - day).days for (day,) in rows][::-1]


def test_a_night_that_trains_nothing_builds_no_training_cut_offs(night):
    _, patch = night
    patch.delenv("AUDIENCES_PREDICTION_RETRAIN_DAYS")
    transform_step(END, selector="features")
    assert _cutoffs() == [0, 30, 90]  # scored tonight; each score's out-of-time check
    assert all(not s["retrained"] for s in _predicted(END).values())
    patch.setenv("AUDIENCES_PREDICTION_RETRAIN_DAYS", "1")
    transform_step(END + timedelta(days=1), selector="features")
    assert _cutoffs() == [-1, 29, 59, 89, 119]  # and the training cut-offs: all are due


def test_a_model_that_fails_tonight_s_check_is_trained_on_cut_offs_built_for_it(night):
    _, patch = night
    patch.delenv("AUDIENCES_PREDICTION_RETRAIN_DAYS")
    for name in SCORES:
        shutil.rmtree(settings().home / "models" / name / END.isoformat())
    transform_step(END, selector="features")  # the live models: three days old
    assert _cutoffs() == [0, 30, 90]
    patch.setenv("AUDIENCES_PREDICTION_MIN_AUC", "0.99")
    record = _predicted(END)
    for name in SCORES:
        assert record[name]["retrained_because"].startswith("tonight's out-of-time AUC"), name
        assert record[name]["trained_as_of"] == END.isoformat() and not record[name]["used"]
    assert _cutoffs() == [0, 30, 60, 90, 120]


def _predicted(as_of) -> dict:
    predict(settings(), as_of)
    return read_quality(settings(), as_of)["scores"]
