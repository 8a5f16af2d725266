"""Whether a night scores with the stored model or trains a new one.

A score is trained again only when its live model (audiences.predict.store)
will not do:

- there is none for the night's date (a first night, or a backfill before
  every stored model);
- it was trained with other library versions, other features, or another
  horizon or step;
- it is ``prediction_retrain_days`` old (7 by default);
- its file is missing or fails its hash check;
- tonight's out-of-time check (its AUC on the latest cut-off whose outcome
  is now known) fails the floor or the RFM baseline.

Otherwise the night loads it and only scores. Training repeats under its
seed, so a rerun of the night a model was trained for gets the same model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from audiences.config import Settings
from audiences.predict import store
from audiences.predict.quality import Quality, verdict
from audiences.predict.training import Target, check, feature_columns, targets, train
from audiences.transform.dbt import project_vars

if TYPE_CHECKING:
    from audiences.predict.scores import Features


@dataclass(frozen=True)
class Chosen:
    """The model that scores a score tonight, and how it was chosen."""

    card: store.Card | None  # None: no model could be trained
    model: object | None
    quality: Quality | None  # tonight's out-of-time check, or its validation when trained
    retrained_because: str | None  # None: the stored model was reused

    def described(self, as_of: date) -> dict:
        """The report's record of the model (predictions.json)."""
        described = {"retrained": self.retrained_because is not None}
        described["retrained_because"] = self.retrained_because
        if self.card is None:
            return described
        return {
            **described,
            "model": self.card.kind,
            "version": self.card.version,
            "trained_as_of": self.card.trained_as_of.isoformat(),
            "training_cutoff": self.card.training_cutoff.isoformat(),
            "model_age_days": (as_of - self.card.trained_as_of).days,
            "checked_on": "tonight, out of time"
            if self.card.trained_as_of < as_of
            else "its validation cut-off, when trained",
            "candidates_auc": self.card.candidates_auc,
            "quality": asdict(self.quality) if self.quality else None,
        }


def training_due(settings: Settings, as_of: date) -> bool:
    """Whether tonight trains a score for a reason known before its features
    are built: no live model, its age, its libraries, horizon or step. (The
    out-of-time check and the features' columns are judged by the predict
    step, which has the training cut-offs built if it trains after all.)"""
    variables = project_vars(settings)
    step_days = int(variables["prediction_step_days"])
    for target in targets(variables):
        card = store.live(settings, target.name, as_of)
        features = card.features if card else []
        if stale(settings, card, features, target, step_days, as_of) is not None:
            return True
    return False


def choose_model(
    settings: Settings, features: Features, target: Target, as_of: date, step_days: int
) -> Chosen:
    """The live model when it still does, else one trained tonight (and stored)."""
    rows = features.rows
    card = store.live(settings, target.name, as_of)
    reason = stale(settings, card, feature_columns(rows), target, step_days, as_of)
    model = store.load(settings, card) if reason is None else None
    if reason is None and model is None:
        reason = "its stored file is missing or fails its SHA-256 check"
    if reason is None:
        quality, reason = _checked(settings, card, model, rows, target, as_of)
        if reason is None:
            return Chosen(card, model, quality, None)
    cutoff = as_of - timedelta(days=target.horizon_days + step_days)
    return _trained(settings, features.for_training(cutoff), target, as_of, step_days, reason)


def stale(
    settings: Settings,
    card: store.Card | None,
    features: list[str],
    target: Target,
    step_days: int,
    as_of: date,
) -> str | None:
    """Why the live model cannot score tonight without its check; None when it can."""
    if card is None:
        return f"no model trained on or before {as_of.isoformat()}"
    if card.libraries != store.libraries():
        return f"trained with {_versions(card.libraries)}, now {_versions(store.libraries())}"
    if card.features != features:
        added = sorted(set(features) - set(card.features))
        removed = sorted(set(card.features) - set(features))
        return f"the features changed (added {added or 'none'}, removed {removed or 'none'})"
    if (card.horizon_days, card.step_days) != (target.horizon_days, step_days):
        return "its horizon or training step changed"
    age = (as_of - card.trained_as_of).days
    if age >= settings.prediction_retrain_days:
        return f"{age} days old (retrained after {settings.prediction_retrain_days})"
    return None


def _checked(
    settings: Settings,
    card: store.Card,
    model: object,
    rows: pd.DataFrame,
    target: Target,
    as_of: date,
) -> tuple[Quality | None, str | None]:
    """The model's quality tonight and, when it fails, why it is retrained.

    On the night it was trained for, its validation stands (its training
    cut-off is the latest whose outcome is known: there is no later one).
    """
    if card.trained_as_of == as_of:
        return Quality(**card.quality), None
    quality = check(model, card.features, rows, target, as_of)
    if quality is None:
        return None, "tonight's out-of-time check lacks customers or outcomes"
    failed = verdict(quality, settings.prediction_min_auc)
    return quality, f"tonight's out-of-time {failed}" if failed else None


def _trained(
    settings: Settings, rows: pd.DataFrame, target: Target, as_of: date, step_days: int, reason
) -> Chosen:
    fitted = train(
        rows, target, as_of, step_days, settings.prediction_training_rows, settings.prediction_seed
    )
    if fitted is None:
        return Chosen(None, None, None, reason)
    card = store.Card(
        score=target.name,
        version=fitted.version,
        kind=fitted.kind,
        features=fitted.features,
        horizon_days=target.horizon_days,
        step_days=step_days,
        training_cutoff=fitted.training_cutoff,
        trained_as_of=as_of,
        seed=settings.prediction_seed,
        quality=asdict(fitted.quality),
        candidates_auc=fitted.candidates_auc,
    )
    return Chosen(store.save(settings, card, fitted.model), fitted.model, fitted.quality, reason)


def _versions(libraries: dict[str, str]) -> str:
    return ", ".join(f"{name} {v}" for name, v in sorted(libraries.items()))
