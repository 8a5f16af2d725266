"""The match weights' seed, from a splink model, and training's refusal of too little data."""

from __future__ import annotations

import csv
import math
import sys

import pandas as pd
import pytest

from audiences.errors import AudiencesError
from audiences.linkage import train, write_weights
from audiences.linkage.training import COLUMNS


def _model() -> dict:
    """The shape of splink's save_model_to_json(), for one exact comparison."""
    return {
        "probability_two_random_records_match": 0.001,
        "comparisons": [
            {
                "output_column_name": "match_phone",
                "comparison_levels": [
                    {"sql_condition": "match_phone_l IS NULL", "is_null_level": True},
                    {"sql_condition": "l = r", "m_probability": 0.9, "u_probability": 0.01},
                    # Not estimated: no pair of the records reached it.
                    {"sql_condition": "ELSE"},
                ],
            }
        ],
    }


def test_the_seed_holds_each_levels_weight_and_the_prior(tmp_path):
    seed = tmp_path / "identity_match_weights.csv"
    assert write_weights(_model(), seed) == 4
    rows = {(r["comparison"], r["comparison_level"]): r for r in csv.DictReader(seed.open())}
    assert float(rows["prior", "0"]["match_weight"]) == pytest.approx(math.log2(0.001 / 0.999))
    assert rows["match_phone", "-1"]["label"] == "missing"
    assert rows["match_phone", "-1"]["match_weight"] == "0.000000"
    assert rows["match_phone", "1"]["label"] == "equal"
    assert float(rows["match_phone", "1"]["match_weight"]) == pytest.approx(math.log2(90), 1e-6)
    assert rows["match_phone", "0"]["label"] == "different"
    assert rows["match_phone", "0"]["match_weight"] == "0.000000"


def test_training_refuses_too_few_records():
    records = pd.DataFrame([{column: f"x{i}" for column in COLUMNS} for i in range(10)])
    with pytest.raises(AudiencesError, match="10 records are too few"):
        train(records, 50)


def test_train_linkage_without_splink_says_how_to_get_it(home, monkeypatch, capsys):
    """splink is an optional dependency (audiences[linkage]): the nightly run does not need it."""
    from audiences.cli import main

    monkeypatch.setitem(sys.modules, "splink", None)  # as if it were not installed
    assert main(["train-linkage"]) == 2
    error = capsys.readouterr().err
    assert "needs splink" in error and "audiences[linkage]" in error
