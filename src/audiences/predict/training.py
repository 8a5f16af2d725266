"""Train, validate and choose a model for one score, point in time.

The rows are ``int_customer_features``: what each customer had done by a
cut-off date, and the outcome in the horizon after it (a label, null until
the horizon has passed). For a score with horizon *h* and the logical date
*T*, the model is validated **out of time**: trained on the cut-off
*T - h - step*, judged on the customers of the later cut-off *T - h*, whose
outcome is known by *T*. The candidate that ranks the validation customers
best (AUC) is then trained again on the cut-off *T - h*; it scores the
customers as of *T* and of the nights after it, until it is retrained
(audiences.predict.store). On each of those nights it is judged again, on
the then latest cut-off whose outcome is known (:func:`check`). It is used
only if its AUC reaches the floor and beats the RFM baseline on the same
customers; otherwise the score's segment keeps its rule (docs/segments.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from audiences.predict.quality import Quality, measure, rfm_baseline

KEYS = ("cutoff_date", "customer_id")
LABEL_PREFIX = "label_"
# Days since an event that never happened: longer than any history kept.
NEVER_DAYS = 10_000


@dataclass(frozen=True)
class Target:
    """A score: its population at a cut-off and its outcome (1 = the event)."""

    name: str
    horizon_days: int
    population: Callable[[pd.DataFrame], pd.Series]
    outcome: Callable[[pd.Series], pd.Series]  # of the completed orders in the horizon
    # The RFM baseline ranks customers by how good they are; churn is the bad end.
    baseline_sign: int

    @property
    def label(self) -> str:
        return f"{LABEL_PREFIX}completed_orders_next_{self.horizon_days}d"


def purchase_propensity(horizon_days: int) -> Target:
    """A completed order in the next ``horizon_days`` days, for every customer."""
    return Target(
        "purchase_propensity",
        horizon_days,
        population=lambda rows: pd.Series(True, index=rows.index),
        outcome=lambda orders: orders > 0,
        baseline_sign=1,
    )


def churn_risk(horizon_days: int) -> Target:
    """No completed order in the next ``horizon_days`` days, for customers who have ordered."""
    return Target(
        "churn_risk",
        horizon_days,
        population=lambda rows: rows["orders"] > 0,
        outcome=lambda orders: orders == 0,
        baseline_sign=-1,
    )


def targets(variables: dict) -> list[Target]:
    """The scores, with their horizons from the dbt project's vars."""
    return [
        purchase_propensity(int(variables["purchase_propensity_horizon_days"])),
        churn_risk(int(variables["churn_risk_horizon_days"])),
    ]


@dataclass(frozen=True)
class Fitted:
    target: Target
    kind: str
    version: str
    quality: Quality
    candidates_auc: dict[str, float]  # every candidate's validation AUC
    model: object  # trained on the training cut-off, to score later cut-offs
    features: list[str]  # the model's columns, in order
    training_cutoff: date


def feature_columns(rows: pd.DataFrame) -> list[str]:
    return [c for c in rows.columns if c not in KEYS and not c.startswith(LABEL_PREFIX)]


def matrix(rows: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
    """The features as numbers: a day count of nothing yet is a very long time."""
    x = rows[columns or feature_columns(rows)].astype("float64")
    days = [c for c in x.columns if c.startswith("days_since_")]
    x[days] = x[days].fillna(NEVER_DAYS)
    return x.to_numpy()


def candidates(seed: int) -> dict[str, Callable[[], object]]:
    """The model kinds tried for every score; the validation AUC chooses."""
    return {
        "logistic_regression": lambda: make_pipeline(
            FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=1000)
        ),
        "gradient_boosting": lambda: HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.1, early_stopping=False, random_state=seed
        ),
    }


def at_cutoff(
    rows: pd.DataFrame, target: Target, cutoff: date, seed: int, sample: int | None = None
):
    """The target's customers at ``cutoff`` (at most ``sample``, drawn under ``seed``), outcomes."""
    chosen = rows[(rows["cutoff_date"] == cutoff)]
    chosen = chosen[target.population(chosen)]
    if sample is not None and len(chosen) > sample:
        chosen = chosen.sample(n=sample, random_state=seed)
    labels = chosen[target.label]
    if labels.isna().any():
        raise ValueError(f"{target.name}: the outcome of cut-off {cutoff} is not known yet")
    return chosen, target.outcome(labels).to_numpy(dtype=int)


def train(
    rows: pd.DataFrame, target: Target, as_of: date, step_days: int, sample: int, seed: int
) -> Fitted | None:
    """Validate each candidate out of time, keep the best, train it on the latest
    cut-off whose outcome is known.

    None when the history is too short: a cut-off without customers, or
    without both outcomes.
    """
    validate_on = as_of - timedelta(days=target.horizon_days)
    train_on = validate_on - timedelta(days=step_days)
    train_rows, train_y = at_cutoff(rows, target, train_on, seed, sample)
    valid_rows, valid_y = at_cutoff(rows, target, validate_on, seed)
    if min(len(set(train_y)), len(set(valid_y))) < 2:
        return None
    baseline = rfm_baseline(valid_rows, target.baseline_sign)
    tried = {}
    for kind, make in candidates(seed).items():
        model = make().fit(matrix(train_rows), train_y)
        tried[kind] = measure(valid_y, model.predict_proba(matrix(valid_rows))[:, 1], baseline)
    kind = max(tried, key=lambda k: tried[k].auc)
    final_rows, final_y = at_cutoff(rows, target, validate_on, seed, sample)
    final = candidates(seed)[kind]().fit(matrix(final_rows), final_y)
    version = f"{target.name}:{kind}:trained-{validate_on.isoformat()}:seed-{seed}"
    candidates_auc = {name: round(q.auc, 4) for name, q in tried.items()}
    return Fitted(
        target,
        kind,
        version,
        tried[kind],
        candidates_auc,
        final,
        feature_columns(rows),
        validate_on,
    )


def check(
    model: object, columns: list[str], rows: pd.DataFrame, target: Target, as_of: date
) -> Quality | None:
    """A stored model judged on the latest cut-off whose outcome is known by
    ``as_of`` (later than the one it was trained on: out of time); None when
    that cut-off lacks customers or either outcome."""
    cutoff_rows, outcomes = at_cutoff(rows, target, as_of - timedelta(days=target.horizon_days), 0)
    if len(set(outcomes)) < 2:
        return None
    probabilities = model.predict_proba(matrix(cutoff_rows, columns))[:, 1]
    return measure(outcomes, probabilities, rfm_baseline(cutoff_rows, target.baseline_sign))


def score(
    model: object, columns: list[str], rows: pd.DataFrame, target: Target, as_of: date
) -> pd.Series:
    """The model's probability of the target's outcome for its customers as of ``as_of``."""
    scored = rows[(rows["cutoff_date"] == as_of)]
    scored = scored[target.population(scored)]
    return pd.Series(
        model.predict_proba(matrix(scored, columns))[:, 1],
        index=scored["customer_id"],
        name=target.name,
    )
