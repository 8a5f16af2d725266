"""Trained models kept between nights, so that a night scores without training.

Each model a night trains is kept under ``models/<score>/<trained as of>/``:

- ``model.joblib``: the fitted estimator;
- ``model.json``: its card: the version, the model kind, the feature columns
  in their order, the score's horizon and step, the training cut-off, the
  night it was trained for, the seed, its out-of-time quality, the library
  versions, and the SHA-256 of ``model.joblib``, checked before loading (a
  joblib file is a pickle: only a file this project wrote is loaded).

The model **live at a date** is the one trained for the latest night on or
before it: a night reruns, and a backfill scores, with the model that was
live at its date; a date before every stored model trains one as of itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path

import joblib

from audiences.config import Settings

MODEL_FILE = "model.joblib"
CARD_FILE = "model.json"
# A model pickled by one of these versions may not load, or not predict the
# same, under another: a change of any of them retrains.
LIBRARIES = ("scikit-learn", "numpy", "scipy")


@dataclass(frozen=True)
class Card:
    """What a stored model is and how it was made."""

    score: str
    version: str
    kind: str
    features: list[str]
    horizon_days: int
    step_days: int
    training_cutoff: date
    trained_as_of: date
    seed: int
    quality: dict
    candidates_auc: dict[str, float]
    libraries: dict[str, str] = field(default_factory=lambda: libraries())
    sha256: str = ""

    def to_json(self) -> str:
        record = asdict(self)
        for name in ("training_cutoff", "trained_as_of"):
            record[name] = record[name].isoformat()
        return json.dumps(record, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Card:
        record = json.loads(text)
        for name in ("training_cutoff", "trained_as_of"):
            record[name] = date.fromisoformat(record[name])
        return cls(**record)


def libraries() -> dict[str, str]:
    return {name: version(name) for name in LIBRARIES}


def models_dir(settings: Settings, score: str) -> Path:
    return settings.home / "models" / score


def save(settings: Settings, card: Card, model: object) -> Card:
    """Keep ``model`` and its card; a model trained again for its night replaces it."""
    folder = models_dir(settings, card.score) / card.trained_as_of.isoformat()
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    joblib.dump(model, staging / MODEL_FILE)
    card = Card(**{**asdict(card), "sha256": _sha256(staging / MODEL_FILE)})
    (staging / CARD_FILE).write_text(card.to_json())
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return card


def live(settings: Settings, score: str, as_of: date) -> Card | None:
    """The card of the model trained for the latest night on or before ``as_of``."""
    folder = models_dir(settings, score)
    nights = [
        p.name
        for p in (folder.iterdir() if folder.exists() else [])
        if _is_night(p.name) and date.fromisoformat(p.name) <= as_of and (p / CARD_FILE).exists()
    ]
    return Card.from_json((folder / max(nights) / CARD_FILE).read_text()) if nights else None


def load(settings: Settings, card: Card) -> object | None:
    """The stored model of ``card``; None when its file is missing or not the one written."""
    path = models_dir(settings, card.score) / card.trained_as_of.isoformat() / MODEL_FILE
    if not path.exists() or _sha256(path) != card.sha256:
        return None
    return joblib.load(path)


def _is_night(name: str) -> bool:
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
