"""`make bench`'s code path on tiny data, so that the benchmark cannot silently break:
two nights through Airflow, every stage of both parts of the build timed, and the
floor replaying every model of the night."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHELL_SETTINGS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_both_nights_and_the_floor(tmp_path, monkeypatch):
    for var in (*SHELL_SETTINGS, "AUDIENCES_HOME"):
        monkeypatch.delenv(var, raising=False)
    out = tmp_path / "out"
    args = ["--scale", "XS", "--customers", "300", "--days", "14"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), *args,
         "--home", str(tmp_path / "home"), "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    result = json.loads((out / "XS.json").read_text())
    for night in ("full", "incremental"):
        stages = result[night]["stages"]
        for stage in ("load", "raw_gate", "dbt_build_features", "predict", "dbt_build"):
            assert stages[stage]["seconds"] > 0, (night, stage)
    manifest = json.loads((tmp_path / "home" / "dbt" / "target" / "manifest.json").read_text())
    models = [
        node for name, node in manifest["nodes"].items()
        if name.startswith("model.") and node["config"]["materialized"] != "ephemeral"
    ]  # fmt: skip
    # Both parts of the build were timed, so the floor replayed every model.
    assert result["floor_models"] == len(models) > 60
    assert result["floor_seconds"] > 0 and result["ratio_dbt_build_to_floor"] > 0
