"""Calling an email tool's API politely: its rate limits, retries and timeouts.

Every destination client sends through :func:`call`: a :class:`Throttle`
keeps to the tool's documented rates, a transient answer (HTTP 429, 500,
502, 503, 504, a reset or refused connection, a timeout) is retried with
exponential backoff and jitter (tenacity), never sooner than the
``Retry-After`` the tool asked for, and a request that keeps failing raises
:class:`TransientError` for its records to be retried on the next run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

T = TypeVar("T")
RETRYABLE = {429, 500, 502, 503, 504}
# Seconds before a request is given up on (connect, read).
TIMEOUT = (5, 60)


class TransientError(Exception):
    """An answer worth retrying; ``retry_after`` is the wait the server asked for."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class Attempts:
    """How many requests a call took (the ledger records them)."""

    count: int = 0


class Throttle:
    """A token bucket per documented limit: ``per_second`` burst and ``per_minute`` steady.

    ``room`` widens each bucket's size (not its rate): the local servers allow a
    little over the documented burst, since a client's clock is not the server's.
    """

    def __init__(self, per_second: float, per_minute: float | None = None, room: float = 1.0):
        self.buckets = [(per_second, 1.0)] + ([(per_minute, 60.0)] if per_minute else [])
        self.room = room
        self.tokens = [rate * room for rate, _ in self.buckets]
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """Take a token if every bucket has one: 0; else the seconds until they will."""
        with self.lock:
            now = time.monotonic()
            elapsed, self.stamp = now - self.stamp, now
            for i, (rate, period) in enumerate(self.buckets):
                self.tokens[i] = min(rate * self.room, self.tokens[i] + elapsed * rate / period)
            if all(tokens >= 1 for tokens in self.tokens):
                self.tokens = [tokens - 1 for tokens in self.tokens]
                return 0.0
            return max(
                (1 - tokens) * period / rate
                for (rate, period), tokens in zip(self.buckets, self.tokens, strict=True)
            )

    def wait(self) -> None:
        while pause := self.take():
            time.sleep(pause)


def _backoff_base() -> float:
    # Tests shorten the backoff; the documented default suits the real tools.
    return float(os.environ.get("AUDIENCES_SYNC_BACKOFF_SECONDS", "1"))


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    jittered = wait_random_exponential(multiplier=_backoff_base(), max=60)(state)
    asked = getattr(exc, "retry_after", None) or 0
    return max(jittered, asked)


def call(request: Callable[[], T], throttle: Throttle, attempts: Attempts, tries: int = 6) -> T:
    """Run ``request`` (one HTTP call) under the throttle, retrying transient failures."""

    def once() -> T:
        throttle.wait()
        attempts.count += 1
        try:
            return request()
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc

    retrying = Retrying(
        stop=stop_after_attempt(tries),
        wait=_wait,
        retry=retry_if_exception_type(TransientError),
        reraise=True,
    )
    return retrying(once)


def check(response: requests.Response) -> requests.Response:
    """Raise :class:`TransientError` on a retryable status; return the response otherwise."""
    if response.status_code in RETRYABLE:
        raise TransientError(
            f"HTTP {response.status_code}: {response.text[:200]}",
            response.status_code,
            retry_after_seconds(response.headers.get("Retry-After")),
        )
    return response


def retry_after_seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides
