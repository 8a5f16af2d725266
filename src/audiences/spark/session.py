"""Start the Spark session that dbt's ``session`` method then uses.

dbt-spark's ``session`` method runs Spark inside the dbt process and takes the
session already running, so :func:`start` creates it first: with the Spark
settings of the profile's ``spark`` target (profiles.yml is their one place)
and with the project's Python functions registered, which SQL alone cannot do.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import jinja2
import yaml
from pyspark.sql import SparkSession

from audiences.config import Settings
from audiences.environment import scoped
from audiences.spark.functions import register


def spark_env(settings: Settings) -> dict[str, str]:
    """The variables the profile's ``spark`` target reads."""
    return {
        "AUDIENCES_SPARK_MASTER": settings.spark_master,
        "AUDIENCES_SPARK_DIR": settings.spark_dir,
        "AUDIENCES_LANDING": str(settings.landing),
        # Spark binds to the address the host name resolves to unless told.
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        # The executors' Python: the one that has this package and its libraries.
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }


def profile_parameters(project_dir: Path, variables: dict[str, str]) -> dict[str, str]:
    """The ``server_side_parameters`` of the profile's ``spark`` target, rendered
    with ``variables`` before the process's environment (as dbt would, run
    with them set)."""
    profile = yaml.safe_load((project_dir / "profiles.yml").read_text())
    target = profile["audiences"]["outputs"]["spark"]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def env_var(name: str, default: str | None = None) -> str:
        value = variables.get(name, os.environ.get(name, default))
        if value is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return value

    return {
        key: env.from_string(str(value)).render(env_var=env_var)
        for key, value in target["server_side_parameters"].items()
    }


def start(settings: Settings) -> SparkSession:
    """The session for dbt, the gates and the exports, with the UDFs registered.

    Spark's launcher reads the environment (SPARK_LOCAL_IP, PYSPARK_PYTHON)
    when the session's JVM starts: they are set for that start only."""
    variables = spark_env(settings)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in profile_parameters(settings.dbt_project_dir, variables).items():
        builder = builder.config(key, value)
    with scoped(variables):
        spark = builder.getOrCreate()
    # dbt asks for relations that may not exist yet and handles the answer;
    # Spark would log each such query as an error, with its stack.
    spark.sparkContext.setLogLevel("ERROR")
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    register(spark)
    return spark
