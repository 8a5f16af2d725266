"""Where the pipeline reads and writes, resolved from environment variables.

Every path is relocatable so that tests, the demo and a production install can
share one code path: ``AUDIENCES_HOME`` moves all runtime data at once, and the
per-source variables point the connectors at a company's real exports.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from audiences.errors import ConfigError

# The repository checkout this package runs from, if it does: the defaults of
# the data folder, the dbt project and the expectations. An installed package
# (a wheel in someone's Airflow) is told where they are (docs/deploy.md).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
ENV_PREFIX = "AUDIENCES_"


def _cron(value: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(value):
        raise ValueError("not a cron expression")
    return value


def _delimiter(value: str | None) -> str | None:
    value = {"tab": "\t", "\\t": "\t"}.get(value, value) if value else None
    if value is not None and len(value) != 1:
        raise ValueError("not one character")
    return value


def _encoding(value: str) -> str:
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError("not an encoding") from None
    return value


SOURCE_NAMES = ("crm", "web", "shop")


def _sources(value: str) -> str:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names or any(name not in SOURCE_NAMES for name in names):
        raise ValueError("not a list of sources")
    return ",".join(name for name in SOURCE_NAMES if name in names)


def _memory(value: str | None) -> str | None:
    size = r"\d+(\.\d+)?\s*(%|[KMGT]i?B|B)"
    if value is not None and not re.fullmatch(size, value.strip(), re.IGNORECASE):
        raise ValueError("not a size")
    return value


# DuckDB keeps what it reads in its buffer pool up to its limit, so the
# largest process follows the limit more than the night's work: 6 GB keeps it
# within 8 GiB at a million customers (docs/performance.md, "Peak memory").
NIGHT_MEMORY_LIMIT = "6GB"


def default_memory_limit() -> str:
    """6 GB, or DuckDB's own 80 % of the machine's memory where that is less."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return NIGHT_MEMORY_LIMIT if 0.8 * memory >= 6 * 1000**3 else "80%"


def _seeds_of(dbt_project_dir: Path) -> Path:
    """Where dbt_project.yml's ``seed-paths`` puts the seeds (``../seeds``)."""
    import yaml

    project = yaml.safe_load((dbt_project_dir / "dbt_project.yml").read_text())
    return (dbt_project_dir / project.get("seed-paths", ["seeds"])[0]).resolve()


# The form each variable takes, for the message when one does not.
EXPECTED = {
    "earliest_date": "a date, YYYY-MM-DD",
    "start_date": "a date, YYYY-MM-DD",
    "retry_delay_seconds": "a whole number of seconds (0 or more)",
    "schedule": "a cron expression, e.g. '0 2 * * *'",
    "duckdb_memory_limit": "a size such as 4GB or a share such as 80%",
    "alert_webhook": "an http(s) URL",
    "crm_encoding": "a Python codec name such as utf-8 or cp1252",
    "sources": "a comma-separated list of crm, web, shop (at least one)",
    "crm_delimiter": "one character, or 'tab'",
    "home": "the folder of the pipeline's data, not empty and not a file (required when"
    " installed as a package)",
    "data_group": "the name of a group that exists on this machine",
    "dbt_project_dir": "the folder holding the project's dbt_project.yml, with the seeds/"
    " folder beside it",
    "expectations_dir": "the folder of the GX project (great_expectations.yml)",
    "engine": "duckdb or spark",
}


class Settings(BaseSettings):
    """Every ``AUDIENCES_*`` variable, typed; paths left unset follow ``AUDIENCES_HOME``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    home: Path = Field(None, validate_default=True)  # type: ignore[assignment]
    # The source systems the company has: the others are not extracted, their
    # gates are skipped and the segments that need them are not computable.
    sources: Annotated[str, AfterValidator(_sources)] = ",".join(SOURCE_NAMES)
    crm_dir: Path | None = None
    web_dir: Path | None = None
    shop_url: str | None = None
    # The CRM exports' text encoding, and their separator (None: detected from the header).
    crm_encoding: Annotated[str, AfterValidator(_encoding)] = "utf-8"
    crm_delimiter: Annotated[str | None, AfterValidator(_delimiter)] = None
    warehouse: Path | None = None
    # The engine dbt builds on: the embedded DuckDB, or Apache Spark
    # (docs/scale-out.md) at spark_master, keeping its catalog and tables
    # under spark_dir (a local folder, or object storage on a cluster).
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str = "local[*]"
    spark_dir: str | None = None
    dbt_project_dir: Path = Field(DBT_PROJECT_DIR, validate_default=True)
    expectations_dir: Path = Field(PROJECT_ROOT / "expectations", validate_default=True)
    # No business timestamp is older: earlier ones are placeholders (1900, 1970) or typos.
    earliest_date: date = date(2000, 1, 1)
    # The group that may read the data folder (audiences.privacy); None: owner only.
    data_group: str | None = None
    # DuckDB's memory limit and spill folder for every step (docs/performance.md).
    # None: default_memory_limit().
    duckdb_memory_limit: Annotated[str | None, AfterValidator(_memory)] = None
    duckdb_temp_dir: Path | None = None
    # The DAG's start date: a run for an earlier logical date would run no task.
    start_date: date = date(2000, 1, 1)
    # When the nightly run starts (UTC cron) and its first retry delay.
    schedule: Annotated[str, AfterValidator(_cron)] = "0 2 * * *"
    retry_delay_seconds: int = Field(60, ge=0)
    alert_webhook: AnyHttpUrl | None = None
    # Predictive scores (audiences.predict): the seed of their sampling and
    # models, the most customers a model is trained on, and the out-of-time
    # AUC below which a score is not used (its segment keeps its rule).
    prediction_seed: int = 7
    prediction_training_rows: int = Field(200_000, ge=1000)
    prediction_min_auc: float = Field(0.6, ge=0.5, le=1.0)
    # Native threads (OpenMP, BLAS) training and scoring may use. One by
    # default: an Airflow worker shares its cores, and more threads than free
    # cores made the step a hundred times slower, not a few.
    prediction_threads: int = Field(1, ge=1)
    # A stored model scores the nights after it was trained until it is this
    # many days old (audiences.predict.retraining says what else retrains it).
    prediction_retrain_days: int = Field(7, ge=1)
    # K-means personas of the customers (audiences.predict.personas), off by default.
    personas: bool = False
    # Where the audiences are synced to (docs/activation.md): $AUDIENCES_HOME/destinations.yml.
    destinations: Path | None = None
    # A sync fails (and alerts) when more than this share of its records failed.
    sync_max_failed_share: float = Field(0.05, ge=0, le=1)

    @field_validator("home", mode="before")
    @classmethod
    def _home(cls, value: Path | str | None) -> Path | str:
        if value is None:
            if not IN_CHECKOUT:
                raise ValueError("not set")
            return PROJECT_ROOT / "data"
        # "" would be the working directory, which the pipeline then makes private.
        if not str(value).strip():
            raise ValueError("empty")
        if Path(value).exists() and not Path(value).is_dir():
            raise ValueError("not a folder")
        return value

    @field_validator("data_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        import grp

        if value is None:
            return None
        try:
            grp.getgrnam(value)
        except KeyError:
            raise ValueError("no such group") from None
        return value

    @field_validator("dbt_project_dir", "expectations_dir")
    @classmethod
    def _project_folder(cls, value: Path, info) -> Path:
        marker = (
            "dbt_project.yml" if info.field_name == "dbt_project_dir" else "great_expectations.yml"
        )
        if not (value / marker).is_file():
            raise ValueError(f"no {marker}")
        if info.field_name == "dbt_project_dir" and not _seeds_of(value).is_dir():
            raise ValueError(f"no {_seeds_of(value)}")
        return value.resolve()

    @model_validator(mode="after")
    def _follow_home(self) -> Settings:
        self.home = self.home.resolve()
        sources = self.home / "sources"
        self.crm_dir = self.crm_dir or sources / "crm"
        self.web_dir = self.web_dir or sources / "web"
        self.shop_url = self.shop_url or f"sqlite:///{sources / 'shop.sqlite'}"
        self.warehouse = self.warehouse or self.home / "warehouse.duckdb"
        self.destinations = self.destinations or self.home / "destinations.yml"
        self.spark_dir = self.spark_dir or str(self.home / "spark")
        self.duckdb_temp_dir = (self.duckdb_temp_dir or self.home / "tmp" / "duckdb").resolve()
        return self

    @property
    def enabled_sources(self) -> tuple[str, ...]:
        return tuple(self.sources.split(","))

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def publications(self) -> Path:
        """Every staged publication: warehouse.duckdb (the marts) + exports/, one folder per run."""
        return self.home / "publications"

    @property
    def published(self) -> Path:
        """The live publication: a symlink to one folder of ``publications``."""
        return self.home / "published"

    @property
    def activation(self) -> Path:
        """The sync's own state: its ledger (``ledger.duckdb``), apart from the warehouse."""
        return self.home / "activation"

    @property
    def scores(self) -> Path:
        """Each night's predictive scores (``scores/<as_of>/customer_scores.parquet``)."""
        return self.home / "scores"

    @property
    def exports(self) -> Path:
        """The published audience files (``exports/<as_of>/<segment>.csv``)."""
        return self.home / "exports"

    @property
    def seeds_dir(self) -> Path:
        """The dbt seeds (reference CSVs): ``seeds/`` beside the dbt project."""
        return _seeds_of(self.dbt_project_dir)

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def duckdb_config(self) -> dict[str, str]:
        """DuckDB's memory limit and spill folder, set on purpose for every connection
        that moves data (extract, load, dbt, gates, publication); docs/performance.md.
        """
        # DuckDB creates only the last folder of the path, and only when it
        # first spills: a missing parent would fail the run at its largest step.
        self.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
        return {
            "memory_limit": self.duckdb_memory_limit or default_memory_limit(),
            "temp_directory": str(self.duckdb_temp_dir),
        }


def settings() -> Settings:
    """Read the settings from the environment (on every call, so tests can patch it).

    Raises :class:`ConfigError` naming each wrong variable and the form it takes.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            variable = ENV_PREFIX + field.upper()
            expected = EXPECTED.get(field, error["msg"])
            if error.get("input") is None:
                problems.append(f"{variable} is not set: expected {expected}")
            else:
                problems.append(
                    f"{variable}={error.get('input')!r} is not valid: expected {expected}"
                )
        raise ConfigError("; ".join(problems)) from None


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment to run ``airflow`` on the project's DAG with every runtime file
    under ``home``: what ``scripts/airflow_env.sh`` sets, for the end-to-end tests and
    the benchmark. ``extra`` adds or overrides variables.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AUDIENCES"))}
    env.update(
        {
            "AUDIENCES_HOME": str(home),
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    env.update(extra)
    return env
