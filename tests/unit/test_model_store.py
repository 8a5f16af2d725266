"""Stored models: the one live at a date, and only a file this project wrote is loaded."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from audiences.config import settings
from audiences.predict import store
from audiences.predict.retraining import stale
from audiences.predict.training import purchase_propensity

NIGHTS = (date(2026, 11, 10), date(2026, 11, 17))


def _card(trained_as_of: date, features=("orders", "days_since_last_order")) -> store.Card:
    return store.Card(
        score="purchase_propensity",
        version=f"purchase_propensity:logistic_regression:trained-{trained_as_of}:seed-7",
        kind="logistic_regression",
        features=list(features),
        horizon_days=30,
        step_days=30,
        training_cutoff=trained_as_of,
        trained_as_of=trained_as_of,
        seed=7,
        quality={"auc": 0.8},
        candidates_auc={"logistic_regression": 0.8},
    )


@pytest.fixture
def stored(home):
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [3.0, 1.0]])
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    return {night: store.save(settings(), _card(night), model) for night in NIGHTS}, x, model


def test_the_live_model_is_the_latest_trained_on_or_before_the_date(stored):
    cards, x, model = stored
    assert store.live(settings(), "purchase_propensity", date(2026, 11, 9)) is None
    assert store.live(settings(), "purchase_propensity", NIGHTS[0]) == cards[NIGHTS[0]]
    assert store.live(settings(), "purchase_propensity", date(2026, 11, 16)) == cards[NIGHTS[0]]
    later = store.live(settings(), "purchase_propensity", date(2026, 12, 1))
    assert later == cards[NIGHTS[1]] and later.libraries == store.libraries()
    loaded = store.load(settings(), later)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_a_model_file_that_is_not_the_one_written_is_not_loaded(stored):
    cards, _, _ = stored
    path = store.models_dir(settings(), "purchase_propensity") / "2026-11-17" / store.MODEL_FILE
    path.write_bytes(path.read_bytes() + b"\0")
    assert store.load(settings(), cards[NIGHTS[1]]) is None
    path.unlink()
    assert store.load(settings(), cards[NIGHTS[1]]) is None


def test_what_makes_a_stored_model_stale(stored):
    card = stored[0][NIGHTS[1]]
    features = card.features
    target = purchase_propensity(30)

    def why(as_of=date(2026, 11, 20), **changes):
        return stale(
            settings(), store.Card(**{**card.__dict__, **changes}), features, target, 30, as_of
        )

    assert why() is None
    assert why(as_of=date(2026, 11, 24)) == "7 days old (retrained after 7)"
    assert why(features=["orders"]) == (
        "the features changed (added ['days_since_last_order'], removed none)"
    )
    assert why(step_days=60) == "its horizon or training step changed"
    old = {**card.libraries, "scikit-learn": "1.0.0"}
    assert why(libraries=old).startswith("trained with numpy")
