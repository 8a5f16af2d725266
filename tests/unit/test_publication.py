"""The publication switch: a backfill never takes the live publication back in time,
and rollback works after a crash at any point of a publish, as far back as asked.

Publications here are staged folders written by hand (a record and an exports
folder): the switch and the history do not look inside them.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from audiences.config import settings
from audiences.publish import publication
from audiences.publish.publication import PublishError, StalePublicationError


def _staged(name: str, as_of: str):
    folder = settings().publications / name
    (folder / "exports" / as_of).mkdir(parents=True)
    record = {"name": name, "as_of": as_of, "staged_at": f"{as_of}T03:00:00+00:00"}
    (folder / publication.RECORD).write_text(json.dumps(record))
    return folder


@pytest.fixture
def three_nights(home):
    """Publications of the 20th, 21st and 22nd, published in that order."""
    folders = [_staged(f"2026-11-{day}__run", f"2026-11-{day}") for day in (20, 21, 22)]
    for folder in folders:
        publication.publish(settings(), folder)
    return folders


def test_rollback_steps_back_one_publication_at_a_time(three_nights):
    first, second, _ = three_nights
    assert publication.rollback(settings()) == second
    assert publication.rollback(settings()) == first
    with pytest.raises(PublishError, match="no earlier good publication"):
        publication.rollback(settings())


def test_rollback_to_a_named_run_or_date(three_nights):
    first, _, third = three_nights
    assert publication.rollback(settings(), to=first.name) == first
    assert publication.current(settings()) == first
    assert publication.rollback(settings(), to="2026-11-22") == third
    with pytest.raises(PublishError, match="never published"):
        publication.rollback(settings(), to="2026-11-23__other")


@pytest.mark.parametrize("crash_in", ["_point", "_ensure_exports_link"])
def test_rollback_works_after_a_crash_during_a_publish(three_nights, monkeypatch, crash_in):
    _, second, third = three_nights
    fourth = _staged("2026-11-23__run", "2026-11-23")

    def crash(*args):
        raise KeyboardInterrupt  # the process killed mid-publish

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(publication, crash_in, crash)
        publication.publish(settings(), fourth)
    live = publication.current(settings())
    # Killed before the switch, the 22nd is live; after it, the 23rd. Either way
    # rollback knows the way back.
    assert live == (third if crash_in == "_point" else fourth)
    assert publication.rollback(settings()) == (second if live == third else third)


def test_a_backfill_does_not_replace_a_newer_live_publication(three_nights):
    third = three_nights[2]
    older = _staged("2026-11-18__backfill", "2026-11-18")
    refused = r"2026-11-22 is live.*--date 2026-11-18 --allow-older"
    with pytest.raises(StalePublicationError, match=refused):
        publication.publish(settings(), older)
    assert publication.current(settings()) == third
    publication.publish(settings(), older, allow_older=True)
    assert publication.current(settings()) == older


def test_the_same_date_again_is_not_a_backfill(three_nights):
    again = _staged("2026-11-22__rerun", "2026-11-22")
    publication.publish(settings(), again)
    assert publication.current(settings()) == again
    assert publication.refuse_older(settings(), date(2026, 11, 22)) is None
