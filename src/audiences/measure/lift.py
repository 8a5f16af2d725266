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

The night computes them once, after its build (:func:`write_segment_lift`),
into the mart ``marts.segment_lift`` — one set of rows per night, kept
across nights — which analysts query and the report and summary read
(:func:`read_segment_lift`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the report imports this module
    from audiences.config import Settings
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
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

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
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

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


# marts.segment_lift: the night (as_of), then a Lift's fields, the run whose
# members are compared named cohort_as_of, and whether there was enough data.
MART = "marts.segment_lift"
MART_COLUMNS = {
    "as_of": "date",
    "segment": "varchar",
    "window_days": "integer",
    "cohort_as_of": "date",
    "comparison": "varchar",
    "metric": "varchar",
    "n_treated": "bigint",
    "n_control": "bigint",
    "treated": "double",
    "control": "double",
    "absolute": "double",
    "absolute_low": "double",
    "absolute_high": "double",
    "relative": "double",
    "relative_low": "double",
    "relative_high": "double",
    "p_value": "double",
    "has_enough_data": "boolean",
    "verdict": "varchar",
}
SPARK_TYPES = {"varchar": "string"}


def mart_rows(lifts: list[Lift], as_of: date) -> pd.DataFrame:
    """The night's lifts as rows of ``marts.segment_lift``."""
    rows = [
        {
            "as_of": as_of,
            **{k: v for k, v in lift.to_dict().items() if k != "as_of"},
            "cohort_as_of": date.fromisoformat(lift.as_of),
            "has_enough_data": lift.verdict is None,
        }
        for lift in lifts
    ]
    return pd.DataFrame(rows, columns=list(MART_COLUMNS))


def write_segment_lift(settings: Settings, as_of: date) -> int:
    """Compute the night's lifts from the built models into ``marts.segment_lift``,
    replacing the night's earlier rows (a re-run); return how many rows."""
    if settings.engine == "spark":
        from audiences.report.models import SparkModels
        from audiences.spark.session import start

        spark = start(settings)
        rows = mart_rows(segment_lifts(SparkModels(spark)), as_of)
        _write_spark(spark, rows)
        return len(rows)
    from audiences import warehouse_lock
    from audiences.report.models import DuckDBModels

    con = warehouse_lock.connect(settings.warehouse, config=settings.duckdb_config)
    try:
        rows = mart_rows(segment_lifts(DuckDBModels(con)), as_of)
        columns = ", ".join(f"{name} {type_}" for name, type_ in MART_COLUMNS.items())
        con.execute(f"create table if not exists {MART} ({columns})")
        con.execute(f"delete from {MART} where as_of = ?", [as_of])
        con.register("tonight", rows)
        con.execute(f"insert into {MART} by name select * from tonight")
    finally:
        con.close()
    return len(rows)


def _write_spark(spark, rows: pd.DataFrame) -> None:
    """Overwrite the night's partition of the table (created on the first night)."""
    columns = [n for n in MART_COLUMNS if n != "as_of"] + ["as_of"]  # partition column last
    schema = ", ".join(f"{n} {SPARK_TYPES.get(MART_COLUMNS[n], MART_COLUMNS[n])}" for n in columns)
    spark.sql(f"create table if not exists {MART} ({schema}) using parquet partitioned by (as_of)")
    records = [tuple(_python(v) for v in row) for row in rows[columns].itertuples(index=False)]
    frame = spark.createDataFrame(records, schema=schema)
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    frame.write.insertInto(MART, overwrite=True)


def _python(value):
    """A plain Python value for Spark: numpy scalars unwrapped, NaN as null."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def read_segment_lift(built: Models, as_of: date) -> list[Lift]:
    """The night's lifts from ``marts.segment_lift``; none before a night wrote them."""
    if "segment_lift" not in built.tables("marts"):
        return []
    names = [f.name for f in fields(Lift)]
    selected = ", ".join(
        "cast(cohort_as_of as string) as as_of" if n == "as_of" else n for n in names
    )
    lifts = [
        Lift(**dict(zip(names, row, strict=True)))
        for row in built.rows(f"select {selected} from {MART} where as_of = ?", [as_of])
    ]
    order = {"audience vs holdout": 0, "A vs B": 1, "conversion": 0, "revenue per member": 1}
    return sorted(
        lifts,
        key=lambda x: (x.segment, x.window_days, x.as_of, order[x.comparison], order[x.metric]),
    )
