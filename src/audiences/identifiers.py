"""Phone numbers and email addresses, checked by the field's libraries.

The warehouse functions of both engines call these (DuckDB:
``audiences.warehouse_functions``; Spark: ``audiences.spark.functions``), so
a number or an address is judged the same on either. This module imports
nothing of an engine, because Spark's executors import it.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email


@lru_cache(maxsize=200_000)
def to_e164(raw: str | None, region: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]  # the international prefix most of the world dials
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=200_000)
def email_invalid_reason(email: str | None) -> str | None:
    if email is None:
        return None
    try:
        validate_email(email, check_deliverability=False, strict=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def google_normalized_email(email: str) -> str:
    """An address as Google Customer Match normalises it before hashing (the dbt
    macro ``google_email`` does the same in SQL): trimmed, lower-cased, and for
    gmail.com and googlemail.com without the dots of the local part."""
    local, at, domain = email.strip().lower().rpartition("@")
    if at and domain in ("gmail.com", "googlemail.com"):
        return f"{local.replace('.', '')}@{domain}"
    return email.strip().lower()
