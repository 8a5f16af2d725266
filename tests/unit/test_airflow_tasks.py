"""Permanent errors fail a task at once; a DAG run that ran no task is caught."""

from __future__ import annotations

from datetime import date

import pytest
from airflow.sdk.exceptions import AirflowFailException

from audiences.airflow_tasks import fail_fast
from audiences.config import settings
from audiences.errors import (
    AudiencesError,
    SchemaDriftError,
    SourceMissingError,
    WarehouseLockedError,
)
from audiences.quality.gates import QualityGateError
from audiences.report.stages import executed_run, stage_timer


@pytest.mark.parametrize("error", [SchemaDriftError, QualityGateError])
def test_a_permanent_error_fails_at_once(error):
    with pytest.raises(AirflowFailException, match="column 'email' no longer"), fail_fast():
        raise error("column 'email' no longer holds VARCHAR values")


@pytest.mark.parametrize("error", [WarehouseLockedError, SourceMissingError])
def test_a_transient_error_keeps_its_retries(error):
    with pytest.raises(error), fail_fast():
        raise error("try again later")


FINISHED = (
    "[info] DagRun Finished: dag_id=customer_segments_nightly, logical_date=1999-12-31"
    " 00:00:00+00:00, run_id=manual__2026-11-27T18:10:21+00:00, run_start_date=…, state=success,"
)


def test_a_run_that_executed_no_task_is_refused(home):
    day = date(1999, 12, 31)
    with pytest.raises(AudiencesError, match=r"executed no task.*AUDIENCES_START_DATE"):
        executed_run(settings(), day, FINISHED)
    with stage_timer(settings(), day, "manual__2026-11-27T18:10:21+00:00", "extract_crm"):
        pass
    assert executed_run(settings(), day, FINISHED) == "manual__2026-11-27T18:10:21+00:00"
