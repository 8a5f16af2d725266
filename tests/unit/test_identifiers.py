"""Each ad platform's normalisation of an address before it is hashed."""

from __future__ import annotations

import pytest

from audiences.identifiers import google_normalized_email


@pytest.mark.parametrize(
    ("email", "normalized"),
    [
        # Google's guidelines: trim, lower-case, drop the dots of gmail/googlemail local parts.
        (" Jane.Doe@GMail.com ", "janedoe@gmail.com"),
        ("j.d.oe@googlemail.com", "jdoe@googlemail.com"),
        ("jane.doe@example.org", "jane.doe@example.org"),
        ("John_Smith@gmail.com", "john_smith@gmail.com"),
        ("jane.doe+news@gmail.com", "janedoe+news@gmail.com"),
    ],
)
def test_google_customer_match_normalisation(email, normalized):
    assert google_normalized_email(email) == normalized
