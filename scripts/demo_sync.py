"""`make demo-sync`: sync the demo's live audiences to local Klaviyo, Mailchimp and webhook servers.

Starts the three stand-ins of ``audiences.activate.local_servers`` on
127.0.0.1, points a destinations.yml and the Airflow Connections at them,
runs ``audiences sync`` twice (the second run has nothing to send) and prints
what each server received. Run ``make demo`` first.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from audiences.activate.local_servers import KlaviyoServer, MailchimpServer, WebhookServer

DESTINATIONS = """\
destinations:
  klaviyo:
    type: klaviyo
    connection: klaviyo_demo
    segments:
      vip: {target: VipList1, mode: mirror, fields: [first_name, top_category]}
      cart_abandoner: {target: CartList1, mode: upsert,
                       fields: [first_name, last_product_viewed_name]}
  mailchimp:
    type: mailchimp
    connection: mailchimp_demo
    audience: a1b2c3
    segments:
      vip: {target: vip, mode: mirror, fields: [first_name]}
      churned: {target: win-back, mode: mirror, fields: [first_name, top_category]}
  crm_webhook:
    type: webhook
    connection: webhook_demo
    segments:
      high_propensity: {target: high_propensity, fields: [first_name, preferred_send_hour]}
"""


def connection(host: str, password: str) -> str:
    return json.dumps({"conn_type": "http", "host": host, "password": password})


def main() -> int:
    from audiences.activate.sync import run
    from audiences.config import settings

    folder = Path(tempfile.mkdtemp(prefix="audiences-demo-sync-"))
    (folder / "destinations.yml").write_text(DESTINATIONS)
    with KlaviyoServer() as klaviyo, MailchimpServer() as mailchimp, WebhookServer() as hook:
        os.environ.update(
            AUDIENCES_DESTINATIONS=str(folder / "destinations.yml"),
            AIRFLOW_CONN_KLAVIYO_DEMO=connection(klaviyo.url, klaviyo.key),
            AIRFLOW_CONN_MAILCHIMP_DEMO=connection(mailchimp.url, mailchimp.key),
            AIRFLOW_CONN_WEBHOOK_DEMO=connection(hook.url + "/audiences", hook.key),
        )
        config = settings()
        for attempt in ("first sync", "second sync (nothing new)"):
            before = sum(len(s.write_calls) for s in (klaviyo, mailchimp, hook))
            results = run(config)
            after = sum(len(s.write_calls) for s in (klaviyo, mailchimp, hook))
            print(f"== {attempt}: {after - before} write calls")
            for result in results:
                print(json.dumps(result))
        print("Klaviyo lists:", {k: len(klaviyo.members(k)) for k in klaviyo.lists})
        print("Mailchimp tags:", {t: len(mailchimp.tagged(t)) for t in mailchimp.tags.values()})
        print("webhook audiences:", {a: len(m) for a, m in hook.audiences.items()})
        print(f"ledgers: {config.activation}/<destination>/ledger.duckdb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
