"""Point Airflow at a throwaway home before it is imported by the DAG tests."""

import os
import tempfile
from pathlib import Path

_home = tempfile.mkdtemp(prefix="airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[2] / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
