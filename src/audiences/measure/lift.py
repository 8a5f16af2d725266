"""Holdout lift: did a segment's audience convert more, and spend more, than its
holdout group, and how sure can we be?

Each segment's members are split by a hash into the audience (sent to the
email marketers) and a holdout group (kept out as a control); members who
cannot be emailed are left out of both, since only the contactable would
have been treated. For the latest run whose attribution window has ended
(``int_segment_cohort_members``), this compares the two groups:

- **conversion** (a completed order in the window): the difference of two
  proportions with a 95 % Newcombe (score) interval and the relative lift
  (ratio of the rates) with its log interval — statsmodels'
  ``confint_proportions_2indep``;
- **revenue per member** (net revenue in the window, zero for those who did
  not buy): Welch's t interval of the difference of the means (unequal
  variances; a few large orders make revenue skewed, and the interval is
  only asymptotic for such data) — statsmodels' ``CompareMeans``; the
  relative lift divides it by the holdout's mean.

The same for the A/B groups of the audience (A against B). Below
``MIN_GROUP`` members in either group, or with no conversion in either, the
comparison reads "not enough data yet" instead of an interval too wide to
mean anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

if TYPE_CHECKING:  # the report imports this module
    from audiences.report.models import Models

# The fewest members per group for an interval; below it, "not enough data yet".
MIN_GROUP = 100
NOT_ENOUGH = "not enough data yet"
ALPHA = 0.05


@dataclass(frozen=True)
class Lift:
    segment: str
    window_days: int
    as_of: str  # the run whose members are compared
    comparison: str  # "audience vs holdout" or "A vs B"
    metric: str  # "conversion" or "revenue per member"
    n_treated: int
    n_control: int
    treated: float | None  # the treated group's rate or mean
    control: float | None
    absolute: float | None = None
    absolute_low: float | None = None
    absolute_high: float | None = None
    relative: float | None = None
    relative_low: float | None = None
    relative_high: float | None = None
    p_value: float | None = None
    verdict: str | None = None  # "not enough data yet" where no interval is given

    def to_dict(self) -> dict:
        return asdict(self)


def conversion_lift(converted_treated: int, n_treated: int, converted_control: int, n_control: int):
    """(absolute, low, high, relative, low, high, p value) of two conversion rates."""
    counts = (converted_treated, n_treated, converted_control, n_control)
    low, high = confint_proportions_2indep(*counts, method="newcomb", compare="diff", alpha=ALPHA)
    rate_t, rate_c = converted_treated / n_treated, converted_control / n_control
    relative = (None, None, None)
    if converted_control and converted_treated:
        r_low, r_high = confint_proportions_2indep(
            *counts, method="log", compare="ratio", alpha=ALPHA
        )
        relative = (rate_t / rate_c - 1, r_low - 1, r_high - 1)
    test = test_proportions_2indep(*counts, method="score", compare="diff")
    return (rate_t - rate_c, low, high, *relative, float(test.pvalue))


def revenue_lift(treated: np.ndarray, control: np.ndarray):
    """(absolute, low, high, relative, low, high, p value) of two means (Welch)."""
    compared = CompareMeans(DescrStatsW(treated), DescrStatsW(control))
    low, high = compared.tconfint_diff(alpha=ALPHA, usevar="unequal")
    _, p_value, _ = compared.ttest_ind(usevar="unequal")
    difference = float(treated.mean() - control.mean())
    base = float(control.mean())
    relative = (difference / base, low / base, high / base) if base else (None, None, None)
    return (difference, low, high, *relative, float(p_value))


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _lift(key: dict, metric: str, treated: np.ndarray, control: np.ndarray) -> Lift:
    """One comparison; ``treated``/``control``: each member's outcome (1/0 or revenue)."""
    n_t, n_c = len(treated), len(control)
    base = Lift(**key, metric=metric, n_treated=n_t, n_control=n_c,
                treated=_mean(treated), control=_mean(control))  # fmt: skip
    no_signal = metric == "conversion" and not (treated.sum() or control.sum())
    if min(n_t, n_c) < MIN_GROUP or no_signal:
        return replace(base, verdict=NOT_ENOUGH)
    if metric == "conversion":
        figures = conversion_lift(int(treated.sum()), n_t, int(control.sum()), n_c)
    else:
        figures = revenue_lift(treated, control)
    names = ("absolute", "absolute_low", "absolute_high", "relative", "relative_low",
             "relative_high", "p_value")  # fmt: skip
    values = {n: None if v is None else float(v) for n, v in zip(names, figures, strict=True)}
    return replace(base, **values)


COHORT = """
select segment, window_days, cast(as_of as string), test_group, ab_group,
       cast(converted as integer), revenue_eur
from intermediate.int_segment_cohort_members
order by segment, window_days, test_group, ab_group
"""


def segment_lifts(built: Models) -> list[Lift]:
    """Every segment's lift, per attribution window, audience against holdout and
    A against B, for the latest run whose window has ended; none before one has."""
    if "int_segment_cohort_members" not in built.tables("intermediate"):
        return []
    groups: dict[tuple, list[tuple]] = {}
    for segment, window, as_of, group, ab, converted, revenue in built.rows(COHORT):
        groups.setdefault((segment, int(window), as_of), []).append((group, ab, converted, revenue))
    lifts = []
    for (segment, window, as_of), members in sorted(groups.items()):
        rows = np.array([(g == "audience", ab == "A", c, float(r)) for g, ab, c, r in members])
        audience, holdout = rows[rows[:, 0] == 1], rows[rows[:, 0] == 0]
        a, b = audience[audience[:, 1] == 1], audience[audience[:, 1] == 0]
        for comparison, treated, control in (
            ("audience vs holdout", audience, holdout),
            ("A vs B", a, b),
        ):
            key = {"segment": segment, "window_days": window, "as_of": as_of,
                   "comparison": comparison}  # fmt: skip
            lifts.append(_lift(key, "conversion", treated[:, 2], control[:, 2]))
            lifts.append(_lift(key, "revenue per member", treated[:, 3], control[:, 3]))
    return lifts
