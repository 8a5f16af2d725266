"""A second writer (a notebook holding the warehouse open) gets the project's own
message: which process holds the lock, and what to do."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from audiences.config import settings
from audiences.errors import WarehouseLockedError
from audiences.pipeline import extract_step, gate_step, load_step, transform_step
from tests.conftest import END, use_sources

HOLD = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
    " print('open', flush=True); time.sleep(120)"
)


@pytest.fixture
def notebook(home, sources_through_end):
    """Another process with the warehouse open for writing, as a notebook would."""
    use_sources(home, sources_through_end)
    duckdb.connect(str(settings().warehouse)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(settings().warehouse)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "open"
    yield holder
    holder.kill()
    holder.wait()


@pytest.mark.parametrize(
    "step",
    [
        lambda: extract_step("crm", END, "test"),
        lambda: load_step([], END, "test"),
        lambda: gate_step("raw", END, "test"),
        lambda: transform_step(END, "test"),
    ],
    ids=["extract", "load", "gate", "dbt"],
)
def test_a_second_process_holding_the_warehouse_is_named(notebook, step):
    with pytest.raises(WarehouseLockedError) as error:
        step()
    message = str(error.value)
    assert f"PID {notebook.pid}" in message
    assert str(settings().warehouse) in message
    assert "one writer" in message and "close" in message
