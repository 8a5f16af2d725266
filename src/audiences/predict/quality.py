"""How good a score is, on customers it was not trained on.

- **AUC**: the chance that a customer who had the outcome is ranked above
  one who did not (0.5 is guessing);
- **Brier score**: the mean squared error of the probabilities (lower is
  better; it rewards calibration as well as ranking);
- **reliability**: in ten equal-size bins of the score, the mean predicted
  probability against the observed rate (a calibrated score lies on the
  diagonal);
- **top-decile lift**: the outcome's rate among the tenth of customers
  scored highest, divided by the rate among all;
- **RFM baseline AUC**: the AUC of the rule-based ranking the segments use
  without a model (the sum of the R, F and M quintile scores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score


@dataclass(frozen=True)
class Quality:
    customers: int
    base_rate: float
    auc: float
    brier: float
    top_decile_rate: float
    top_decile_lift: float
    baseline_auc: float
    # (mean predicted probability, observed rate) per bin of the score
    reliability: list[tuple[float, float]]


def measure(outcomes: np.ndarray, probabilities: np.ndarray, baseline: np.ndarray) -> Quality:
    base_rate = float(outcomes.mean())
    top = probabilities >= np.quantile(probabilities, 0.9)
    observed, predicted = calibration_curve(outcomes, probabilities, n_bins=10, strategy="quantile")
    return Quality(
        customers=len(outcomes),
        base_rate=base_rate,
        auc=float(roc_auc_score(outcomes, probabilities)),
        brier=float(brier_score_loss(outcomes, probabilities)),
        top_decile_rate=float(outcomes[top].mean()),
        top_decile_lift=float(outcomes[top].mean() / base_rate),
        baseline_auc=float(roc_auc_score(outcomes, baseline)),
        reliability=[(float(p), float(o)) for p, o in zip(predicted, observed, strict=True)],
    )


def rfm_baseline(rows: pd.DataFrame, sign: int) -> np.ndarray:
    """R + F + M quintile scores at the cut-off (0 without an order), times ``sign``.

    Quintiles as in int_customer_order_traits: over the customers who have
    ordered, 5 is the most recent, most frequent, highest spending.
    """
    buyers = rows["orders"] > 0
    total = pd.Series(0.0, index=rows.index)
    for column, ascending in (
        ("days_since_last_order", False),
        ("orders", True),
        ("order_value_eur", True),
    ):
        values = rows.loc[buyers, column].astype("float64")
        ranks = values.rank(method="average", pct=True, ascending=ascending)
        total.loc[buyers] += np.ceil(ranks * 5)
    return sign * total.to_numpy()


def verdict(quality: Quality | None, floor: float) -> str | None:
    """Why a score is not used; None when it is: its AUC must reach ``floor``
    and beat the RFM baseline on the same customers."""
    if quality is None:
        return "not enough history: a validation cut-off lacks customers or outcomes"
    if quality.auc < floor:
        return f"AUC {quality.auc:.3f} is below the floor {floor:.3f}"
    if quality.auc <= quality.baseline_auc:
        return f"AUC {quality.auc:.3f} does not beat the RFM baseline {quality.baseline_auc:.3f}"
    return None
