"""Publications shaped like the pipeline's, and the email tools' local servers.

A night's publication is written the way the nightly stages it (a folder
with ``publication.json`` and ``exports/<date>/<segment>.csv`` plus its
``_manifest.json``) and made live with the real ``publish``; the current
consent is a warehouse table as dbt builds it. Audience rows are hand-written
the way the audience files hold them.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest

from audiences.activate.local_servers import Faults, KlaviyoServer, MailchimpServer, WebhookServer
from audiences.config import settings
from audiences.publish.exports import AUDIENCE_COLUMNS, MANIFEST
from audiences.publish.publication import RECORD, publish

FIRST_NAMES = ("Ann", "Björn", "Chloé", "Dmitri", "Eve", "Fatima", "Gus", "Hana")
CATEGORIES = ("shoes", "outerwear", "bags", "knitwear")

DESTINATIONS = """\
destinations:
  klaviyo:
    type: klaviyo
    connection: klaviyo_test
    batch_size: {batch}
    segments:
      vip: {{target: VipList, mode: mirror, fields: [first_name, top_category]}}
      cart_abandoner: {{target: CartList, mode: upsert, fields: [first_name]}}
  mailchimp:
    type: mailchimp
    connection: mailchimp_test
    audience: a1b2c3
    batch_size: {batch}
    segments:
      vip: {{target: vip, mode: mirror, fields: [first_name, top_category]}}
      cart_abandoner: {{target: cart, mode: upsert, fields: [first_name]}}
  crm_webhook:
    type: webhook
    connection: webhook_test
    batch_size: {batch}
    segments:
      vip: {{target: vip, mode: mirror, fields: [first_name, purchase_propensity, churn_risk]}}
"""


def person(i: int) -> dict:
    return {
        "customer_id": f"c{i:05d}",
        "email": f"person{i}@example.org",
        "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
        "last_product_viewed_id": str(1000 + i % 37),
        "last_product_viewed_name": f"Product {i % 37}",
        "top_category": CATEGORIES[i % len(CATEGORIES)],
        "preferred_send_hour": str(8 + i % 12),
        "purchase_propensity": f"{i % 97 / 100:.4f}",
        "churn_risk": "" if i % 5 else "0.1250",
        "ab_group": "a" if i % 2 else "b",
    }


def publish_night(home: Path, as_of: date, audiences: dict[str, list[dict]]) -> Path:
    """Stage a publication of ``audiences`` (segment -> rows) and make it live."""
    folder = home / "publications" / f"{as_of.isoformat()}__test"
    exports = folder / "exports" / as_of.isoformat()
    exports.mkdir(parents=True)
    for segment, rows in audiences.items():
        with (exports / f"{segment}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, AUDIENCE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    segments = {segment: {"audience": len(rows)} for segment, rows in audiences.items()}
    (exports / MANIFEST).write_text(json.dumps({"segments": segments}))
    record = {
        "name": folder.name,
        "as_of": as_of.isoformat(),
        "run_id": "test",
        "staged_at": "2026-11-22T03:00:00+00:00",
        "tables": {},
        "segments": segments,
    }
    (folder / RECORD).write_text(json.dumps(record))
    publish(settings(), folder)
    return folder


def set_consent(home: Path, opted_out: list[str] = (), suppressed: list[str] = ()) -> None:
    """The latest build's current consent per address (intermediate.int_email_consent)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("create schema if not exists intermediate")
    con.execute(
        "create or replace table intermediate.int_email_consent (email varchar, is_opted_in"
        " boolean, is_restricted boolean, restricted_by varchar, is_suppressed boolean,"
        " suppression_reason varchar)"
    )
    rows = [(e, False, True, "unsubscribe", False, None) for e in opted_out]
    rows += [(e, False, True, "hard_bounce", True, "hard_bounce") for e in suppressed]
    if rows:
        con.executemany(
            "insert into intermediate.int_email_consent values (?, ?, ?, ?, ?, ?)", rows
        )
    con.close()


def connection(host: str, password: str) -> str:
    return json.dumps({"conn_type": "http", "host": host, "password": password})


class Tools:
    """The three servers and the environment that points the sync at them."""

    def __init__(self, faults: dict[str, Faults] | None = None) -> None:
        faults = faults or {}
        self.klaviyo = KlaviyoServer(faults=faults.get("klaviyo"))
        self.mailchimp = MailchimpServer(faults=faults.get("mailchimp"))
        self.webhook = WebhookServer(faults=faults.get("webhook"))
        self.all = (self.klaviyo, self.mailchimp, self.webhook)

    def __enter__(self) -> Tools:
        for server in self.all:
            server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for server in self.all:
            server.__exit__(*exc)

    def env(self, home: Path, batch: int = 50) -> dict[str, str]:
        (home / "destinations.yml").write_text(DESTINATIONS.format(batch=batch))
        return {
            "AUDIENCES_HOME": str(home),
            "AUDIENCES_SYNC_BACKOFF_SECONDS": "0.01",
            "AIRFLOW_CONN_KLAVIYO_TEST": connection(self.klaviyo.url, self.klaviyo.key),
            "AIRFLOW_CONN_MAILCHIMP_TEST": connection(self.mailchimp.url, self.mailchimp.key),
            "AIRFLOW_CONN_WEBHOOK_TEST": connection(self.webhook.url + "/hook", self.webhook.key),
        }

    def writes(self) -> int:
        return sum(len(server.write_calls) for server in self.all)


@pytest.fixture
def tools(home, monkeypatch):
    with Tools() as running:
        for name, value in running.env(home).items():
            monkeypatch.setenv(name, value)
        yield running


@pytest.fixture
def clean_env():
    """The environment of a sync in a child process (without pytest's own variables)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
