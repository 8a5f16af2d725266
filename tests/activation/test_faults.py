"""Faults on the wire and in the process: answers lost, retried, interrupted, killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date

import duckdb

from audiences.activate.local_servers import Faults
from audiences.activate.sync import run
from audiences.config import settings
from tests.activation.conftest import Tools, person, publish_night, set_consent

NIGHT = date(2026, 11, 22)
VIP, CART = range(300), range(250, 350)


def publish(home) -> None:
    set_consent(home)
    publish_night(
        home, NIGHT, {"vip": [person(i) for i in VIP], "cart_abandoner": [person(i) for i in CART]}
    )


def ledger_rows(name: str, where: str) -> int:
    con = duckdb.connect(str(settings().activation / name / "ledger.duckdb"), read_only=True)
    try:
        return con.execute(f"select count(*) from operations where {where}").fetchone()[0]
    finally:
        con.close()


def applied(server, operations) -> int:
    return sum(n for operation, n in server.write_calls if operation in operations)


def test_injected_errors_and_a_reset_lose_nothing_and_the_ledger_matches(home, monkeypatch):
    faults = {
        name: Faults(error_rate=0.05, reset_call=4, seed=n, retry_after="0")
        for n, name in enumerate(("klaviyo", "mailchimp", "webhook"))
    }
    with Tools(faults) as tools:
        for name, value in tools.env(home).items():
            monkeypatch.setenv(name, value)
        publish(home)

        results = run(settings())
        # A batch that still failed after its retries is part of the next run's delta.
        while any(r["failed"] for r in results):
            results = run(settings())

        # Each server reset its fourth call and answered some with 429/500/503.
        assert all(f.calls >= 4 for f in faults.values())
        assert sum(server.injected for server in tools.all) > 0
        every_vip = {person(i)["email"] for i in VIP}
        every_cart = {person(i)["email"] for i in CART}
        assert tools.klaviyo.members("VipList") == every_vip
        assert tools.klaviyo.members("CartList") == every_cart
        assert tools.mailchimp.tagged("vip") == every_vip
        assert tools.mailchimp.tagged("cart") == every_cart
        assert len(tools.webhook.audiences["vip"]) == len(VIP)
        # What each server applied is what the ledger says was sent.
        sent = "operation in ('add', 'update') and status = 'sent'"
        assert applied(tools.klaviyo, {"upsert"}) == ledger_rows("klaviyo", sent) == 400
        assert applied(tools.mailchimp, {"upsert"}) == ledger_rows("mailchimp", sent) == 400
        assert applied(tools.webhook, {"audience.upsert"}) == ledger_rows("crm_webhook", sent)
        writes = tools.writes()
        run(settings())
        assert tools.writes() == writes


def test_a_sync_killed_mid_batch_then_rerun_sends_nothing_twice(home, monkeypatch, clean_env):
    """The third import job is applied but its answer never reaches the sync, which is killed."""
    with Tools({"klaviyo": Faults(pause_after_write=3)}) as tools:
        env = tools.env(home)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        publish(home)
        child = subprocess.Popen(
            [sys.executable, "-m", "audiences.cli", "sync", "--destination", "klaviyo"],
            env={**clean_env, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert tools.klaviyo.faults.paused.wait(60), "the sync never reached its third batch"
            # While it waits on the network the warehouse is free for a writer.
            writer = duckdb.connect(str(home / "warehouse.duckdb"))
            writer.execute("create table written_meanwhile as select 1 as x")
            writer.close()
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert ledger_rows("klaviyo", "status = 'pending'") == 50  # the batch in doubt
        tools.klaviyo.faults.pause_after_write = None

        result = run(settings(), destination="klaviyo")[0]

        assert result["status"] == "succeeded"
        assert tools.klaviyo.members("VipList") == {person(i)["email"] for i in VIP}
        assert tools.klaviyo.members("CartList") == {person(i)["email"] for i in CART}
        # 400 records in batches of 50: eight jobs, the one in doubt not sent again.
        assert [op for op, _ in tools.klaviyo.write_calls] == ["upsert"] * 8
        assert applied(tools.klaviyo, {"upsert"}) == 400
        assert ledger_rows("klaviyo", "status = 'pending'") == 0
        assert ledger_rows("klaviyo", "status = 'sent'") == 400
