"""Masking what could identify a person in free text (error messages, requesters' notes)."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# International numbers, and the 3-3-4 national form; not dates (2026-11-22) or counts.
PHONE = re.compile(r"\+\d[\d ()-]{6,}\d|\b\d{3}[ ().-]{0,2}\d{3}[ .-]?\d{4}\b")


def mask_pii(text: str) -> str:
    """``text`` with email addresses and phone numbers replaced by ``<email>``/``<phone>``."""
    return PHONE.sub("<phone>", EMAIL.sub("<email>", text))
