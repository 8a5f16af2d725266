"""Erasure requests: an address that is not one is refused before anything is recorded,
and a requester's note keeps no address or phone number in the clear."""

from __future__ import annotations

from audiences.cli import main
from audiences.config import settings
from audiences.erasure import LOG, folder, read_log


def test_an_address_that_is_not_one_is_refused(home, capsys):
    assert main(["erase", "--email", "not-an-email"]) == 2
    err = capsys.readouterr().err
    assert "--email" in err and "@-sign" in err and "Traceback" not in err
    assert not (folder(settings()) / LOG).exists()


def test_the_note_is_masked(home):
    note = "ticket 4711: ann.lee@example.org asked by phone (+353 87 123 4567) on 2026-11-22"
    assert main(["erase", "--email", "ann.lee@example.org", "--note", note]) == 0
    (request,) = read_log(settings())
    assert request["note"] == "ticket 4711: <email> asked by phone (<phone>) on 2026-11-22"
    text = (folder(settings()) / LOG).read_text()
    assert "ann.lee" not in text and "123 4567" not in text
