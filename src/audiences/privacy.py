"""Personal data at rest: files the pipeline writes are private to their owner.

The landing Parquet, the quarantine, the warehouse, the publications and the
audience files hold emails, phones and names. On a shared host the usual
umask (022) makes every new file readable by everyone, so each step sets the
process's umask before it writes anything: owner only (077), or owner and the
group ``AUDIENCES_DATA_GROUP`` (027; the data folder then belongs to that
group, with the set-group-id bit so that what is created inside it does too:
e.g. the email platform's sync job reads the exports as a member).
"""

from __future__ import annotations

import os
import shutil

from audiences.config import Settings


def protect(settings: Settings) -> None:
    """Make what this process creates from now on private; secure the data folder."""
    home = settings.home
    group = settings.data_group
    os.umask(0o027 if group else 0o077)
    home.mkdir(parents=True, exist_ok=True)
    if group:
        shutil.chown(home, group=group)
        os.chmod(home, 0o2750)
    else:
        os.chmod(home, 0o700)
