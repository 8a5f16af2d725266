"""The predict step bounds the native threads of training and scoring, so that a
worker busy with other tasks slows it in proportion instead of oversubscribing
its cores (OpenMP threads spinning against each other)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from threadpoolctl import threadpool_info

from audiences.config import settings
from audiences.predict import retraining, scores

AS_OF = date(2026, 11, 22)


@pytest.mark.parametrize("threads", [1, 2])
def test_training_and_scoring_run_within_the_configured_threads(home, monkeypatch, threads):
    monkeypatch.setenv("AUDIENCES_PREDICTION_THREADS", str(threads))
    seen = []

    def train(rows, target, *args):
        seen.append({pool["user_api"]: pool["num_threads"] for pool in threadpool_info()})

    # Tonight's cut-off and the first training cut-off: the features hold the latter.
    cutoffs = [AS_OF, AS_OF - timedelta(days=60)]
    features = pd.DataFrame({"cutoff_date": cutoffs, "customer_id": ["c1", "c1"]})
    monkeypatch.setattr(scores, "read_features", lambda config: features)
    monkeypatch.setattr(retraining, "train", train)
    used = scores.predict(settings(), AS_OF)
    assert used == {"purchase_propensity": False, "churn_risk": False}
    assert len(seen) == 2 and all("openmp" in pools for pools in seen)
    assert all(n <= threads for pools in seen for n in pools.values())
