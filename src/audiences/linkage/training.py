"""Estimate identity resolution's match weights with splink, and write them as a seed.

dbt scores pairs of records in SQL (int_identity_match_pairs) so that the
nightly run needs no Python step and scores alike on DuckDB and Spark; this
module is where the weights come from. splink (Fellegi-Sunter, DuckDB
backend) reads the warehouse's own records (int_identity_records): u by
random sampling, m by expectation maximisation on two blockings, the prior
from the pairs that share the local part of an address and a last name.
The comparisons here and their levels in macros/standardise.sql
(comparison_level) are the same; tests/dbt/test_identity_hard_cases.py
checks that dbt's pairs and weights equal splink's own prediction.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.errors import AudiencesError

log = logging.getLogger(__name__)

# (column, kind): kind as in the comparison_level macro.
COMPARISONS = (
    ("first_name", "spelling"),
    ("last_name", "spelling"),
    ("match_phone", "exact"),
    ("city", "exact"),
    ("postal_code", "exact"),
    ("email_local", "spelling"),
)
# Blocking keys: the candidate pairs, as int_identity_match_pairs blocks
# them (the first three), and the first and last name, for training. A key
# more records share than the identity_match_max_block_records var allows (a
# role address's local part: info, einkauf) is left out, as dbt leaves it out.
BLOCKS = {
    "local_block": ("email_local",),
    "phone_block": ("match_phone",),
    "name_place_block": ("first_name", "last_name", "postal_code"),
    "name_block": ("first_name", "last_name"),
}
PREDICTION_BLOCKS = ("local_block", "phone_block", "name_place_block")
MIN_RECORDS = 1_000
# Expectation maximisation learns m from pairs that are mostly one person.
# Pairs on one address are left out: scoring never sees them (the address
# decides), and a couple's would teach that one person has two first names.
# The local part is not capped here: the offices that share a role address's
# local part are the pairs of two people that let it learn what differs.
EM_BLOCKINGS = (
    "l.name_block = r.name_block",
    "l.email_local = r.email_local and l.email_meant <> r.email_meant",
)
COLUMNS = ("record_key", "email_meant", *(column for column, _ in COMPARISONS))
# What training and splink's linker read: the records, in one order.
RECORDS_QUERY = (
    f"select {', '.join(COLUMNS)} from intermediate.int_identity_records order by record_key"
)


def settings(weights: Path | None = None) -> Any:
    """splink's settings: untrained, or with the m, u and prior of a ``weights`` seed."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    seed = _read_weights(weights) if weights else {}

    def comparison(column: str, kind: str) -> Any:
        if kind == "exact":
            made = cl.ExactMatch(column)
        else:
            made = cl.LevenshteinAtThresholds(column, [1, 2])
        if not seed:
            return made
        # splink lists the levels best first: their numbers downwards, missing aside.
        levels = sorted(
            (row for row in seed[column] if row["level"] >= 0), key=lambda r: -r["level"]
        )
        return made.configure(
            m_probabilities=[row["m"] for row in levels],
            u_probabilities=[row["u"] for row in levels],
        )

    prior = {"probability_two_random_records_match": _prior(seed)} if seed else {}
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[comparison(column, kind) for column, kind in COMPARISONS],
        **prior,
        blocking_rules_to_generate_predictions=[block_on(block) for block in PREDICTION_BLOCKS],
        additional_columns_to_retain=["email_meant"],
        retain_intermediate_calculation_columns=True,
    )


def linker(
    records: pd.DataFrame,
    max_block_records: int,
    weights: Path | None = None,
    duckdb_config: dict[str, str] | None = None,
) -> Any:
    """A splink linker (DuckDB) over ``records`` (read_records), untrained or with ``weights``.

    With the committed seed, it is the model dbt scores with, for splink's own
    tools: linker.inference.predict(), linker.visualisations.waterfall_chart().
    """
    from splink import DuckDBAPI, Linker

    con = duckdb.connect(config=duckdb_config or {})
    con.register("frame", records)
    blocks = _blocks(max_block_records)
    con.execute(f"create table records as select record_key as unique_id, *{blocks} from frame")
    return Linker(DuckDBAPI(connection=con).register("records"), settings(weights), log_level=None)


def _blocks(max_records: int) -> str:
    """The blocking keys as SQL columns: null where a part is missing or too many share it."""
    columns = []
    for name, parts in BLOCKS.items():
        key = " || '|' || ".join(parts)
        shared = f"count(*) over (partition by {', '.join(parts)})"
        columns.append(f", case when {shared} <= {max_records} then {key} end as {name}")
    return "".join(columns)


def read_records(settings: Settings) -> pd.DataFrame:
    """The warehouse's records, with what the comparisons compare, in one order."""
    if settings.engine == "spark":
        from audiences.spark.session import start

        return start(settings).sql(RECORDS_QUERY).toPandas()
    con = warehouse_lock.connect(settings.warehouse, read_only=True, config=settings.duckdb_config)
    try:
        return con.execute(RECORDS_QUERY).df()
    finally:
        con.close()


def train(
    records: pd.DataFrame,
    max_block_records: int,
    seed: int = 7,
    duckdb_config: dict[str, str] | None = None,
) -> dict:
    """splink's model (its JSON) trained on ``records`` (read_records); ``duckdb_config``
    sets its memory limit and spill folder (Settings.duckdb_config)."""
    from splink import block_on

    if len(records) < MIN_RECORDS:
        raise AudiencesError(
            f"{len(records)} records are too few to estimate match weights"
            f" (at least {MIN_RECORDS:,}); keep the committed weights"
        )
    trained = linker(records, max_block_records, duckdb_config=duckdb_config)
    trained.training.estimate_probability_two_random_records_match(
        [block_on("email_local", "last_name")], recall=0.8
    )
    trained.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=seed)
    for blocking in EM_BLOCKINGS:
        trained.training.estimate_parameters_using_expectation_maximisation(blocking)
    return trained.misc.save_model_to_json()


def weights(model: dict) -> list[dict]:
    """The seed's rows: each comparison level's m, u and log2(m/u), and the prior."""
    prior = model["probability_two_random_records_match"]
    rows = [_row("prior", 0, None, None, math.log2(prior / (1 - prior)))]
    for comparison in model["comparisons"]:
        column = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        value = sum(1 for level in levels if not level.get("is_null_level"))
        for level in levels:
            if level.get("is_null_level"):
                rows.append(_row(column, -1, None, None, 0.0))
                continue
            value -= 1
            m, u = level.get("m_probability"), level.get("u_probability")
            if not (m and u):
                # No pair of the records reached the level: it is no evidence either way.
                log.warning("%s: level %r not estimated, weight 0", column, level["sql_condition"])
                m = u = m or u or 0.5
            rows.append(_row(column, value, m, u, math.log2(m / u)))
    return rows


LABELS = {
    "exact": {1: "equal", 0: "different", -1: "missing"},
    "spelling": {3: "equal", 2: "1 edit apart", 1: "2 edits apart", 0: "different", -1: "missing"},
}


def _row(comparison: str, level: int, m: float | None, u: float | None, weight: float) -> dict:
    kind = dict(COMPARISONS).get(comparison)
    return {
        "comparison": comparison,
        "comparison_level": level,
        "label": LABELS[kind][level] if kind else comparison,
        "m_probability": "" if m is None else f"{m:.6g}",
        "u_probability": "" if u is None else f"{u:.6g}",
        "match_weight": f"{weight:.6f}",
    }


def _read_weights(path: Path) -> dict[str, list[dict]]:
    seed: dict[str, list[dict]] = {}
    with path.open(newline="") as rows:
        for row in csv.DictReader(rows):
            seed.setdefault(row["comparison"], []).append(
                {
                    "level": int(row["comparison_level"]),
                    "m": float(row["m_probability"] or "nan"),
                    "u": float(row["u_probability"] or "nan"),
                    "weight": float(row["match_weight"]),
                }
            )
    return seed


def _prior(seed: dict[str, list[dict]]) -> float:
    odds = 2 ** seed["prior"][0]["weight"]
    return odds / (1 + odds)


def write_weights(model: dict, path: Path) -> int:
    """Write the seed; return how many rows it has."""
    rows = weights(model)
    with path.open("w", newline="") as seed:
        writer = csv.DictWriter(seed, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
