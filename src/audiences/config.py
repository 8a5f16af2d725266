"""Where the pipeline reads and writes, resolved from environment variables.

Every path is relocatable so that tests, the demo and a production install can
share one code path: ``AUDIENCES_HOME`` moves all runtime data at once, and the
per-source variables point the connectors at a company's real exports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    home: Path
    crm_dir: Path
    web_dir: Path
    shop_url: str
    warehouse: Path
    dbt_project_dir: Path
    # No business timestamp is older: earlier ones are placeholders (1900, 1970) or typos.
    earliest_date: date = date(2000, 1, 1)
    # The group that may read the data folder (audiences.privacy); None: owner only.
    data_group: str | None = None

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
    def exports(self) -> Path:
        """The published audience files (``exports/<as_of>/<segment>.csv``)."""
        return self.home / "exports"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def duckdb_config(self) -> dict[str, str]:
        """DuckDB's memory limit and spill folder, set on purpose for every connection
        that moves data (extract, load, dbt, gates, publication); docs/performance.md.
        """
        spill = Path(
            os.environ.get("AUDIENCES_DUCKDB_TEMP_DIR", self.home / "tmp" / "duckdb")
        ).resolve()
        # DuckDB creates only the last folder of the path, and only when it
        # first spills: a missing parent would fail the run at its largest step.
        spill.mkdir(parents=True, exist_ok=True)
        return {
            "memory_limit": os.environ.get("AUDIENCES_DUCKDB_MEMORY_LIMIT", "80%"),
            "temp_directory": str(spill),
        }


def settings() -> Settings:
    """Read the settings from the environment (on every call, so tests can patch it)."""
    home = Path(os.environ.get("AUDIENCES_HOME", PROJECT_ROOT / "data")).resolve()
    sources = home / "sources"
    return Settings(
        home=home,
        crm_dir=Path(os.environ.get("AUDIENCES_CRM_DIR", sources / "crm")),
        web_dir=Path(os.environ.get("AUDIENCES_WEB_DIR", sources / "web")),
        shop_url=os.environ.get("AUDIENCES_SHOP_URL", f"sqlite:///{sources / 'shop.sqlite'}"),
        warehouse=Path(os.environ.get("AUDIENCES_WAREHOUSE", home / "warehouse.duckdb")),
        dbt_project_dir=Path(os.environ.get("AUDIENCES_DBT_PROJECT_DIR", DBT_PROJECT_DIR)),
        earliest_date=date.fromisoformat(os.environ.get("AUDIENCES_EARLIEST_DATE", "2000-01-01")),
        data_group=os.environ.get("AUDIENCES_DATA_GROUP") or None,
    )


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
