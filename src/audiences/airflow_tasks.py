"""What the DAG's tasks need from Airflow beyond calling a step, in one place.

A :class:`~audiences.errors.PermanentError` (schema drift, a contract or
configuration error, a failed gate, a failed build) cannot be fixed by
waiting: the task fails at once with Airflow's ``AirflowFailException``
(one alert, no retries over a quarter of an hour), while transient errors (a
locked warehouse, a late export, a database timeout) keep their retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from audiences.errors import PermanentError


@contextmanager
def fail_fast() -> Iterator[None]:
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except PermanentError as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
