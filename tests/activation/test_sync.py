"""The sync against local Klaviyo, Mailchimp and webhook servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date, timedelta

import duckdb
import pytest

from audiences.activate.sync import run
from audiences.config import settings
from audiences.erasure import read_log, request_erasure
from tests.activation.conftest import person, publish_night, set_consent

NIGHT = date(2026, 11, 22)


def key(email: str) -> str:
    return hashlib.sha256(f"email:{email.lower()}".encode()).hexdigest()


def night(home, as_of, vip, cart=()):
    return publish_night(
        home, as_of, {"vip": [person(i) for i in vip], "cart_abandoner": [person(i) for i in cart]}
    )


def emails(ids) -> set[str]:
    return {person(i)["email"] for i in ids}


def by_destination(results) -> dict:
    return {r["destination"]: r for r in results}


def test_a_night_reaches_every_tool_and_a_rerun_writes_nothing(home, tools):
    set_consent(home)
    night(home, NIGHT, vip=range(120), cart=range(100, 160))

    first = by_destination(run(settings()))

    assert {r["status"] for r in first.values()} == {"succeeded"}
    assert first["klaviyo"]["sent"] == 180 and first["mailchimp"]["sent"] == 180
    assert first["crm_webhook"]["sent"] == 120
    assert tools.klaviyo.members("VipList") == emails(range(120))
    assert tools.klaviyo.members("CartList") == emails(range(100, 160))
    assert tools.mailchimp.tagged("vip") == emails(range(120))
    assert tools.mailchimp.tagged("cart") == emails(range(100, 160))
    assert tools.webhook.audiences["vip"] == {key(e) for e in emails(range(120))}
    # Fields as each tool takes them: Klaviyo's first_name and properties, Mailchimp's merge tags.
    vip0 = person(0)
    profile = tools.klaviyo.properties[tools.klaviyo.profiles[vip0["email"]]]
    assert profile["first_name"] == vip0["first_name"]
    assert profile["properties"] == {"top_category": vip0["top_category"]}
    member = tools.mailchimp.members[hashlib.md5(vip0["email"].encode()).hexdigest()]
    assert member["merge_fields"] == {"FNAME": vip0["first_name"], "TOP_CATEGO": "shoes"}
    # The scores, as the audience file has them (empty: no score tonight).
    assert tools.webhook.records[key(vip0["email"])]["fields"] == {
        "first_name": vip0["first_name"], "purchase_propensity": "0.0000", "churn_risk": "0.1250"
    }  # fmt: skip
    assert tools.webhook.records[key(person(1)["email"])]["fields"]["churn_risk"] is None

    writes = tools.writes()
    second = by_destination(run(settings()))

    assert tools.writes() == writes, "a re-run with nothing new made a write call"
    assert all(r["sent"] == r["removed"] == r["updated"] == 0 for r in second.values())


def test_exits_and_missed_nights_are_caught_up_in_one_run(home, tools):
    set_consent(home)
    night(home, NIGHT, vip=range(100), cart=range(50))
    run(settings())
    # Two nights go by without a sync; the second is what is live.
    night(home, NIGHT + timedelta(days=1), vip=range(20, 110), cart=range(40, 60))
    changed = person(30) | {"top_category": "gifts"}
    publish_night(
        home,
        NIGHT + timedelta(days=2),
        {
            "vip": [changed] + [person(i) for i in range(31, 130)],
            "cart_abandoner": [person(i) for i in range(45, 70)],
        },
    )

    result = by_destination(run(settings()))

    # vip mirrors: 0-29 left, 110-129 entered, 30 changed; the cart upsert keeps leavers.
    assert tools.klaviyo.members("VipList") == emails(range(30, 130))
    assert tools.mailchimp.tagged("vip") == emails(range(30, 130))
    assert tools.klaviyo.members("CartList") == emails(range(70))
    assert tools.mailchimp.tagged("cart") == emails(range(70))
    assert tools.webhook.audiences["vip"] == {key(e) for e in emails(range(30, 130))}
    for name in ("klaviyo", "mailchimp"):
        assert result[name]["removed"] == 30
        assert result[name]["sent"] == 30 + 20  # 100-129 in vip, 50-69 in cart
        assert result[name]["updated"] == 1
    profile = tools.klaviyo.properties[tools.klaviyo.profiles[changed["email"]]]
    assert profile["properties"]["top_category"] == "gifts"


def test_consent_and_erasure_are_checked_at_send_time(home, tools):
    """The publication holds them; consent and erasure changed since: nothing is sent to them."""
    unsubscribed, bounced, erased = person(3)["email"], person(4)["email"], person(5)["email"]
    set_consent(home, opted_out=[unsubscribed], suppressed=[bounced])
    request_erasure(settings(), email=erased.upper())
    invalid = person(6) | {"email": "person6@example"}  # Klaviyo and Mailchimp refuse it
    publish_night(
        home,
        NIGHT,
        {"vip": [person(i) for i in range(6)] + [invalid] + [person(7)], "cart_abandoner": []},
    )

    result = by_destination(run(settings()))

    planted = {unsubscribed, bounced, erased}
    assert not planted & tools.klaviyo.profiles.keys()
    assert not planted & {m["email_address"] for m in tools.mailchimp.members.values()}
    assert not {key(e) for e in planted} & tools.webhook.records.keys()
    for name in ("klaviyo", "mailchimp"):
        assert result[name]["skipped"] == {
            "consent": 1,
            "hard_bounce": 1,
            "erasure": 1,
            "invalid": 1,
        }
        assert result[name]["sent"] == 4
    assert result["crm_webhook"]["skipped"] == {"consent": 1, "hard_bounce": 1, "erasure": 1}


def test_an_unsubscribe_after_a_sync_takes_the_person_out_in_either_mode(home, tools):
    set_consent(home)
    night(home, NIGHT, vip=range(10), cart=range(10))
    run(settings())
    set_consent(home, opted_out=[person(2)["email"]])

    run(settings())

    assert person(2)["email"] not in tools.klaviyo.members("VipList")
    assert person(2)["email"] not in tools.klaviyo.members("CartList")  # upsert mode too
    assert person(2)["email"] not in tools.mailchimp.tagged("cart")
    # Taken out of the tag, never unsubscribed: that is Mailchimp's own consent record.
    hashed = hashlib.md5(person(2)["email"].encode()).hexdigest()
    assert tools.mailchimp.members[hashed]["status"] == "subscribed"


def test_an_erasure_deletes_the_person_at_every_tool_that_received_them(home, tools):
    set_consent(home)
    night(home, NIGHT, vip=range(10), cart=range(5, 15))
    run(settings())
    gone = person(7)["email"]
    entry = request_erasure(settings(), email=gone)

    result = by_destination(run(settings()))

    assert gone in tools.klaviyo.deleted and gone not in tools.klaviyo.profiles
    assert gone in tools.mailchimp.deleted
    assert key(gone) in tools.webhook.deleted
    assert key(gone) in entry["identifiers"]
    assert {r["deleted"] for r in result.values()} == {1}
    logged = [e for e in read_log(settings()) if e["type"] == "downstream"]
    assert sorted(e["destination"] for e in logged) == ["crm_webhook", "klaviyo", "mailchimp"]
    assert {(e["request_id"], e["deleted"]) for e in logged} == {(entry["request_id"], 1)}
    writes = tools.writes()
    run(settings())
    assert tools.writes() == writes, "a deletion was requested twice"


def test_a_segment_the_night_did_not_publish_fails_the_run_but_not_the_others(home, tools):
    set_consent(home)
    publish_night(home, NIGHT, {"vip": [person(i) for i in range(5)]})  # no cart_abandoner

    result = by_destination(run(settings()))

    assert result["klaviyo"]["status"] == "failed"
    assert result["klaviyo"]["missing_segments"] == ["cart_abandoner"]
    assert tools.klaviyo.members("VipList") == emails(range(5))
    assert result["crm_webhook"]["status"] == "succeeded"


def test_the_ledger_holds_no_address_and_no_key(home, tools):
    set_consent(home)
    night(home, NIGHT, vip=range(20))
    run(settings())

    for name in ("klaviyo", "mailchimp", "crm_webhook"):
        raw = (settings().activation / name / "ledger.duckdb").read_bytes()
        assert b"@example.org" not in raw
        for secret in (tools.klaviyo.key, tools.mailchimp.key, tools.webhook.key):
            assert secret.encode() not in raw


def test_a_refused_signature_fails_the_batch_and_the_next_run_sends_it(home, tools, monkeypatch):
    set_consent(home)
    night(home, NIGHT, vip=range(20))
    conn = json.dumps(
        {"conn_type": "http", "host": tools.webhook.url + "/hook", "password": "wrong-secret"}
    )
    monkeypatch.setenv("AIRFLOW_CONN_WEBHOOK_TEST", conn)

    failed = run(settings(), destination="crm_webhook")[0]

    assert failed["status"] == "failed" and failed["failed"] == 20
    assert "vip" not in tools.webhook.audiences
    ledger = duckdb.connect(str(settings().activation / "crm_webhook" / "ledger.duckdb"))
    errors = ledger.execute("select distinct http_status, error from operations").fetchall()
    assert errors == [(401, 'WebhookError: HTTP 401: {"error": "bad signature"}')]
    ledger.close()

    monkeypatch.setenv(
        "AIRFLOW_CONN_WEBHOOK_TEST",
        json.dumps(
            {
                "conn_type": "http",
                "host": tools.webhook.url + "/hook",
                "password": tools.webhook.key,
            }
        ),
    )
    again = run(settings(), destination="crm_webhook")[0]
    assert again["status"] == "succeeded" and again["sent"] == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("destinations: {}", "destinations: Dictionary should have at least 1 item"),
        (
            "destinations:\n  k:\n    type: brevo\n    connection: c\n"
            "    segments: {vip: {target: x}}",
            "destinations.k: Input tag 'brevo' found using 'type' does not match any of the"
            " expected tags: 'klaviyo', 'mailchimp', 'webhook'",
        ),
        (
            "destinations:\n  k:\n    type: klaviyo\n    connection: c\n"
            "    segments: {vip: {target: x, mode: replace}}",
            "destinations.k.klaviyo.segments.vip.mode: Input should be 'upsert' or 'mirror'",
        ),
        (
            "destinations:\n  m:\n    type: mailchimp\n    connection: c\n"
            "    segments: {vip: {target: vip}}",
            "destinations.m.mailchimp.audience: Field required",
        ),
    ],
)
def test_a_wrong_destinations_file_says_where_and_what(home, text, message):
    from audiences.activate.destinations import DestinationConfigError, load

    (home / "destinations.yml").write_text(text)
    with pytest.raises(DestinationConfigError) as error:
        load(home / "destinations.yml")
    assert message in str(error.value)


def test_the_summary_sums_the_date_s_syncs_per_destination_and_segment(home, tools):
    from audiences.activate.ledger import date_runs
    from audiences.report.summary import _sync_lines

    set_consent(home, opted_out=[person(1)["email"]])
    night(home, NIGHT, vip=range(10), cart=range(5))
    run(settings())
    night(home, NIGHT + timedelta(days=1), vip=range(3, 12), cart=range(5))
    run(settings())

    lines = _sync_lines(date_runs(settings().activation, NIGHT + timedelta(days=1)))

    assert "  klaviyo              succeeded" in "\n".join(lines)
    # 0 and 2 left (1 was never sent: opted out), 10 and 11 entered; 1 is in the cart audience.
    assert "    vip                      sent 2, removed 2" in lines
    assert "    cart_abandoner           skipped: consent 1" in lines
    first = _sync_lines(date_runs(settings().activation, NIGHT))
    assert "    vip                      sent 9; skipped: consent 1" in first


def test_a_failed_sync_alerts_with_what_failed_and_what_happens_next(home, tools):
    from types import SimpleNamespace

    from audiences.activate.sync import SyncFailedError
    from audiences.alerts import failure_payload

    night(home, NIGHT, vip=range(3))
    context = {
        "task_instance": SimpleNamespace(task_id="sync"),
        "dag": SimpleNamespace(dag_id="audiences_sync"),
        "run_id": "asset_triggered__2026-11-23T03:00:00",
        "logical_date": None,
        "exception": SyncFailedError("klaviyo: 40 records failed (1 batches)"),
    }

    payload = failure_payload(context)

    assert payload["logical_date"] == NIGHT.isoformat()
    assert payload["text"].startswith(
        "audiences: audiences_sync run asset_triggered__2026-11-23T03:00:00 for 2026-11-22 failed"
        " at sync; its failed records are part of the next sync's delta. SyncFailedError:"
        " klaviyo: 40 records failed (1 batches)"
    )


def test_a_second_sync_to_a_destination_waits_its_turn_with_a_clear_message(home, tools):
    from audiences.activate.ledger import Ledger, LedgerBusyError

    set_consent(home)
    night(home, NIGHT, vip=range(3))
    (settings().activation / "klaviyo").mkdir(parents=True)
    other = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
         " print('open', flush=True); time.sleep(60)",
         str(settings().activation / "klaviyo" / "ledger.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert other.stdout.readline().strip() == "open"
        with pytest.raises(
            LedgerBusyError, match=r"another sync to klaviyo is running \(.+ \(PID \d+\)\)"
        ):
            Ledger(settings().activation / "klaviyo")
    finally:
        other.kill()
        other.wait()
