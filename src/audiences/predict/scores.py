"""The nightly predict step: check and apply the two predictive scores.

Reads ``int_customer_features`` on the night's engine, scores each score
with its stored model or, where that will not do, one trained point in time
tonight (:mod:`audiences.predict.retraining`), and writes

- ``scores/<as_of>/customer_scores.parquet``: per customer of the logical
  date, each score that passed its checks and its model version (null where
  a score is not used, or not defined: churn risk is for customers who have
  ordered); the second dbt build reads it into ``dim_customers``;
- ``reports/<as_of>/predictions.json``: each score's model, when it was
  trained and whether tonight trained it, its out-of-time quality, whether
  it is used and why, for the run report.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date

import pandas as pd
from threadpoolctl import threadpool_limits

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.predict.personas import described, personas
from audiences.predict.quality import verdict
from audiences.predict.record import quality_path
from audiences.predict.retraining import choose_model
from audiences.predict.training import KEYS, score, targets
from audiences.transform.dbt import project_vars, scores_file

FEATURES_MODEL = "int_customer_features"
FEATURES = f"intermediate.{FEATURES_MODEL}"
log = logging.getLogger(__name__)


def read_features(settings: Settings) -> pd.DataFrame:
    """Every row of the features model, in one order on both engines (so training repeats)."""
    if settings.engine == "spark":
        from audiences.spark.session import start

        rows = start(settings).table(FEATURES).toPandas()
    else:
        con = warehouse_lock.connect(
            settings.warehouse, read_only=True, config=settings.duckdb_config
        )
        try:
            rows = con.execute(f"select * from {FEATURES}").df()
        finally:
            con.close()
    rows["cutoff_date"] = pd.to_datetime(rows["cutoff_date"]).dt.date
    return rows.sort_values(list(KEYS), ignore_index=True)


class Features:
    """Tonight's feature rows. A night that scores with stored models builds
    them without the training cut-offs (var prediction_training_cutoffs); a
    score that must be trained after all (its out-of-time check failed, its
    features changed) has them built here, once."""

    def __init__(self, settings: Settings, as_of: date) -> None:
        self.settings, self.as_of = settings, as_of
        self.rows = read_features(settings)
        self._complete = False

    def for_training(self, cutoff: date) -> pd.DataFrame:
        """The rows, with ``cutoff`` among them if the features can have it."""
        if not self._complete and cutoff not in set(self.rows["cutoff_date"]):
            from audiences.transform import dbt_build

            log.info("building the training cut-offs of the features as of %s", self.as_of)
            training = {"prediction_training_cutoffs": True}
            dbt_build(self.settings, self.as_of, select=FEATURES_MODEL, variables=training)
            self.rows = read_features(self.settings)
        self._complete = True
        return self.rows


def predict(settings: Settings, as_of: date) -> dict:
    """Score as of ``as_of`` (training first where no stored model will do);
    write the scores' file and their quality."""
    with native_threads(settings):
        return _predict(settings, as_of)


def native_threads(settings: Settings) -> threadpool_limits:
    """Bound the native thread pools of training and scoring (scikit-learn's OpenMP,
    numpy's BLAS) to ``prediction_threads``, so that a worker busy with other work
    slows the step in proportion instead of oversubscribing its cores."""
    return threadpool_limits(limits=settings.prediction_threads)


def _predict(settings: Settings, as_of: date) -> dict:
    features = Features(settings, as_of)
    variables = project_vars(settings)
    step = int(variables["prediction_step_days"])
    customers = features.rows.loc[features.rows["cutoff_date"] == as_of, "customer_id"]
    scores = pd.DataFrame({"customer_id": customers.to_numpy()})
    report = {"as_of": as_of.isoformat(), "scores": {}}
    for target in targets(variables):
        clock = time.perf_counter()
        chosen = choose_model(settings, features, target, as_of, step)
        reason = verdict(chosen.quality, settings.prediction_min_auc)
        used = reason is None
        if used:
            scored = score(chosen.model, chosen.card.features, features.rows, target, as_of)
            scores[target.name] = scores["customer_id"].map(scored)
            scores[f"{target.name}_model"] = chosen.card.version
        else:
            scores[target.name] = scores[f"{target.name}_model"] = None
        report["scores"][target.name] = {
            "horizon_days": target.horizon_days,
            "used": used,
            "reason": reason,
            "seconds": round(time.perf_counter() - clock, 2),
            **chosen.described(as_of),
        }
    scores["persona"] = None
    if settings.personas:
        assigned, profiles, silhouettes = personas(
            features.rows[features.rows["cutoff_date"] == as_of], settings.prediction_seed
        )
        scores["persona"] = scores["customer_id"].map(assigned)
        report["personas"] = described(profiles, silhouettes)
    _write(settings, as_of, scores, report)
    return {name: entry["used"] for name, entry in report["scores"].items()}


def _write(settings: Settings, as_of: date, scores: pd.DataFrame, report: dict) -> None:
    path = scores_file(settings, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    for column in scores.columns[1:]:
        kind = "string" if column.endswith("_model") else "float64"
        kind = "Int64" if column == "persona" else kind
        scores[column] = scores[column].astype(kind)
    scores.to_parquet(path, index=False)
    quality = quality_path(settings, as_of)
    quality.parent.mkdir(parents=True, exist_ok=True)
    quality.write_text(json.dumps(report, indent=2) + "\n")
