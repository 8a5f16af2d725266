"""The three source systems' files, written from the simulated population:
the CRM's daily contact and email-activity CSV exports, the web collector's
hour files and the shop's SQLite database, each as ``docs/sources.md``
describes it, with the dirt real exports carry. :func:`audiences.generate.generate`
simulates the population and calls them; :mod:`audiences.generate.writers`
writes the file formats.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from audiences.generate import activity, crm, hard_cases, people, vocab, writers
from audiences.generate.people import DAY


def write_contacts(rng, out, pop, contacts, versions, first_order, start, cutoff, dirt) -> int:
    # Random draws cover the whole history before the cutoff filters it, so a
    # day's file is the same whichever later day the history is written through.
    idx = versions["contact"]
    at = versions["updated_at"]
    n = len(idx)
    missing_birth = rng.random(n) < 0.3
    bad_ts = rng.random(n) < dirt / 10
    dup = rng.random(n) < dirt / 2
    file_day = np.maximum(at, start) // DAY
    bad = _broken_csv_rows(rng, file_day, 16, dirt, "contact")
    keep = at < cutoff
    idx, at, missing_birth, bad_ts, dup, file_day = (
        a[keep] for a in (idx, at, missing_birth, bad_ts, dup, file_day)
    )
    n = len(idx)
    p = contacts.person[idx]
    opted = crm.opted_in_at(pop, contacts, at, idx)
    late = contacts.late_opt_in[idx] <= at
    opt_in_at = np.where(late, contacts.late_opt_in[idx], pop.created_at[p])
    stage = np.where(first_order[p] <= at, "customer", np.where(opted, "subscriber", "lead"))
    table = pa.table(
        {
            "contact_id": contacts.contact_id[idx],
            "email": contacts.email_at(idx, at),
            "first_name": contacts.first_name[idx],
            "last_name": contacts.last_name[idx],
            "phone": contacts.phone[idx],
            "country": contacts.country[idx],
            "city": pop.city[p],
            "postal_code": pop.postal_code[p],
            "birth_date": np.where(
                missing_birth, None, np.datetime_as_string(pop.birth_date[p]).astype(object)
            ),
            "created_at": pop.created_at[p],
            "updated_at": at,
            "email_opt_in": opted,
            # Only people who opted in at some point have an opt-in date.
            "opt_in_at": np.where((pop.opted_in[p] | late) & (opt_in_at <= at), opt_in_at, -1),
            "opt_in_source": np.where(late, "checkout", pop.opt_in_source[p]).astype(object),
            "lifecycle_stage": stage.astype(object),
            "is_deleted": contacts.deleted_at[idx] <= at,
            "bad_ts": bad_ts,
            "file_day": file_day,
            "row_order": np.arange(n),
        }
    )
    dupes = table.filter(pa.array(dup))
    table = pa.concat_tables([table, dupes])
    iso = writers.ISO
    select = f"""
        contact_id, email, first_name, last_name, phone, country, city, postal_code, birth_date,
        strftime(to_timestamp(created_at), '{iso}') as created_at,
        case when bad_ts then '31/02/2026 25:61' else strftime(to_timestamp(updated_at), '{iso}')
        end as updated_at,
        email_opt_in,
        case when opt_in_at >= 0 then strftime(to_timestamp(opt_in_at), '{iso}') end as opt_in_at,
        case when opt_in_at >= 0 then opt_in_source end as opt_in_source,
        lifecycle_stage, is_deleted"""
    bad = [(day, line) for day, line in bad if day < cutoff // DAY]
    writers.write_daily_csv(table, select, out, "contacts", range(start // DAY, cutoff // DAY), bad)
    return table.num_rows + len(bad)


def _broken_csv_rows(rng, file_day, n_fields, dirt, kind) -> list[tuple[int, str]]:
    """Rows a broken exporter emits: cut short, or with an unquoted comma in a field."""
    days = np.unique(file_day)
    n = max(1, int(len(file_day) * dirt / 10)) if dirt > 0 else 0
    picks = rng.choice(days, size=n)
    rows = []
    for i, day in enumerate(picks.tolist()):
        if i % 2:
            rows.append((day, f"9{i:06d},broken.{kind}{i}@example.com,Jo"))
        else:
            fields = [f"9{i:06d}", f"{kind}{i}@example.com", "Smith, Jr."] + [""] * (n_fields - 3)
            rows.append((day, ",".join(fields) + ",extra"))
    return rows


def write_email(rng, out, pop, contacts, email, start, cutoff, dirt) -> int:
    bad = _broken_csv_rows(rng, email["occurred_at"] // DAY, 8, dirt / 5, "activity")
    bad = [(day, line) for day, line in bad if day < cutoff // DAY]
    keep = email["occurred_at"] < cutoff
    e = {k: v[keep] for k, v in email.items()}
    n = len(e["contact"])
    cats = np.asarray(vocab.CATEGORIES, dtype=object)[e["category"]]
    url = np.where(e["event_type"] == "click", "https://shop.example.com/c/" + cats, None)
    table = pa.table(
        {
            "event_id": np.flatnonzero(keep) + 1,
            "contact_id": contacts.contact_id[e["contact"]],
            "email": contacts.email_at(e["contact"], e["occurred_at"]),
            "campaign_id": e["campaign_id"],
            "campaign_type": e["campaign_type"],
            "event_type": e["event_type"],
            "occurred_at": e["occurred_at"],
            "url": url,
            "file_day": e["occurred_at"] // DAY,
            "row_order": np.arange(n),
        }
    )
    iso = writers.ISO
    select = f"""
        'ev_' || lpad(event_id::varchar, 10, '0') as event_id, contact_id, email, campaign_id,
        campaign_type, event_type, strftime(to_timestamp(occurred_at), '{iso}') as occurred_at,
        url"""
    writers.write_daily_csv(
        table, select, out, "email_activity", range(start // DAY, cutoff // DAY), bad
    )
    return n + len(bad)


def customer_ids(pop, sessions) -> tuple[np.ndarray, np.ndarray]:
    """Shop account id and account creation time per person (-1 for no account)."""
    first_login = np.full(pop.n, crm.NEVER)
    li = sessions.logged_in
    np.minimum.at(first_login, sessions.person[li], sessions.start[li])
    created = np.minimum(first_login, np.maximum(pop.created_at, first_login - 30 * DAY))
    created = np.where(pop.has_account, np.minimum(created, pop.created_at + DAY), crm.NEVER)
    order = np.argsort(created, kind="stable")
    ids = np.full(pop.n, -1)
    has = pop.has_account[order]
    ids[order[has]] = 100_001 + np.arange(int(has.sum()))
    return ids, created


def write_web(rng, out, pop, sessions, events, orders, products, accounts, cutoff, options) -> int:
    total = len(events.session)
    person_all = sessions.person[events.session]
    # Only identify calls carry an email: build those strings, not one per event.
    identifies = np.flatnonzero(
        ((events.kind == activity.IDENTIFY_LOGIN) | (events.kind == activity.IDENTIFY_GUEST))
        & (person_all >= 0)
    )
    typed_email = np.full(total, None, dtype=object)
    typed_email[identifies] = people.vary_email(rng, pop.email[person_all[identifies]], 0.1)
    agent = rng.integers(0, 3, size=total)
    malformed = rng.random(total) < options.dirt / 10
    no_ids = rng.random(total) < options.dirt / 20
    keep = events.received < cutoff
    s = events.session[keep]
    kind = events.kind[keep]
    person = person_all[keep]
    ids, _ = accounts
    user = np.where(sessions.logged_in[s] & (person >= 0), ids[np.maximum(person, 0)], -1)
    trait_email = typed_email[keep]
    n = len(s)
    order = events.order[keep]
    has_order = order >= 0
    product = events.product[keep]
    currencies, currency_idx = np.unique(orders.currency.astype(str), return_inverse=True)
    utm = sessions.utm[s]
    # Text columns go to DuckDB dictionary-encoded: small codes, not millions of strings.
    table = pa.table(
        {
            "message_seq": np.flatnonzero(keep),
            "type": _coded(kind, activity.KIND_TYPE),
            "event": _coded(kind, activity.KIND_EVENT),
            "device": sessions.device[s],
            "user_id": user,
            "ts": events.ts[keep],
            "received": events.received[keep],
            "product_id": product,
            "category": _coded(products.category[product - 1], vocab.CATEGORIES),
            "price": products.price[product - 1],
            "order_id": np.where(has_order, order + 1, -1),
            # -1 (no order) picks the padding element at the end.
            "revenue": np.append(orders.total, 0.0)[order],
            "currency": _coded(np.append(currency_idx, 0)[order], currencies, ~has_order),
            "trait_email": trait_email,
            "utm": _coded(np.maximum(utm, 0), vocab.UTM_SOURCES, utm < 0),
            "agent": agent[keep],
            "malformed": malformed[keep],
            "no_ids": no_ids[keep],
        }
    )
    seed = options.seed
    as_json = f"""json_object(
            'messageId', md5('{seed}-m-' || message_seq)::uuid::varchar,
            'type', type,
            'event', nullif(event, ''),
            'anonymousId', case when not no_ids then md5('{seed}-a-' || device)::uuid::varchar end,
            'userId', case when user_id >= 0 and not no_ids then user_id::varchar end,
            'timestamp', strftime(to_timestamp(ts), '%Y-%m-%dT%H:%M:%S.000Z'),
            'receivedAt', strftime(to_timestamp(received), '%Y-%m-%dT%H:%M:%S.000Z'),
            'properties', case
                when type = 'page' then json_object('path', '/c/' || category,
                    'url', 'https://shop.example.com/c/' || category, 'title', category)
                when event = 'Order Completed' then json_object('order_id', order_id::varchar,
                    'revenue', revenue, 'currency', currency)
                when type = 'track' then json_object('product_id', product_id::varchar,
                    'category', category, 'price', price)
                else json_object() end,
            'context', json_object(
                'page', json_object('path', '/c/' || category),
                'campaign', case when utm is not null then json_object('source', utm,
                    'medium', case utm when 'newsletter' then 'email'
                        when 'google' then 'cpc' when 'bing' then 'cpc'
                        when 'direct' then 'none' else 'social' end,
                    'name', 'autumn_sale') end,
                'userAgent', ['Mozilla/5.0 (Macintosh)', 'Mozilla/5.0 (iPhone)',
                              'Mozilla/5.0 (Windows NT 10.0)'][agent + 1]),
            'traits', case when trait_email is not null then json_object('email', trait_email)
                end
        )::varchar"""
    # A malformed line is a record cut off mid-write.
    line = f"case when malformed then left({as_json}, 60) else {as_json} end"
    writers.write_web_hours(table, line, out)
    return n


def _coded(codes: np.ndarray, values, missing: np.ndarray | None = None) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), mask=missing), pa.array([str(v) for v in values])
    )


def write_shop(rngs, path, pop, orders, products, accounts, cutoff, options) -> tuple[dict, dict]:
    """Write the shop database; return its row counts and which person each
    account and guest order is."""
    rng, hard = rngs
    dirt = options.dirt
    ids, created = accounts
    cust = np.flatnonzero(ids >= 0)
    # A few people register twice with the same address (differently typed).
    dup_people = cust[rng.random(len(cust)) < dirt / 2]
    cust_person = np.concatenate([cust, dup_people])
    cust_id = np.concatenate([ids[cust], 900_001 + np.arange(len(dup_people))])
    cust_created = np.concatenate([created[cust], created[dup_people] + 3600])
    cust_email = people.vary_email(rng, pop.email[cust_person], 0.15)
    cust_email = hard_cases.mistype(hard, cust_email, options.hard_cases)
    cust_phone = np.where(
        rng.random(len(cust_person)) < 0.5,
        people.format_phones(rng, pop.phone_e164[cust_person], pop.country[cust_person], dirt),
        None,
    )
    exists = cust_created < cutoff
    cust_person = cust_person[exists]
    customers = {
        "customer_id": cust_id[exists],
        "email": cust_email[exists],
        "first_name": pop.first_name[cust_person],
        "last_name": pop.last_name[cust_person],
        "phone": cust_phone[exists],
        "country": pop.country[cust_person],
        "created_at": writers.sql_ts(cust_created[exists]),
        "updated_at": writers.sql_ts(cust_created[exists]),
    }

    guest_all = ~orders.logged_in
    email_all = people.vary_email(rng, pop.email[orders.person], 0.15)
    email_all = hard_cases.mistype(hard, email_all, options.hard_cases)
    junk = guest_all & (rng.random(len(guest_all)) < dirt)
    email_all[junk] = people.pick(rng, vocab.TEST_ACCOUNT_EMAILS, int(junk.sum()))
    placed = orders.placed_at < cutoff
    o = np.flatnonzero(placed)
    status, updated = activity.order_state_at(orders, cutoff - 1)
    person = orders.person[o]
    guest = guest_all[o]
    order_table = {
        "order_id": o + 1,
        "customer_id": np.where(guest, None, ids[person].astype(object)),
        "email": email_all[o],
        "status": status[o],
        "currency": orders.currency[o],
        "subtotal": orders.subtotal[o],
        "shipping": orders.shipping[o],
        "tax": orders.tax[o],
        "total": orders.total[o],
        "created_at": writers.sql_ts(orders.placed_at[o]),
        "updated_at": writers.sql_ts(updated[o]),
    }
    items = np.flatnonzero(placed[orders.item_order])
    item_ts = writers.sql_ts(orders.placed_at[orders.item_order[items]])
    item_table = {
        "order_item_id": items + 1,
        "order_id": orders.item_order[items] + 1,
        "product_id": orders.item_product[items],
        "quantity": orders.item_quantity[items],
        "unit_price": orders.item_price[items],
        "created_at": item_ts,
        "updated_at": item_ts,
    }
    refund_table = _refunds(orders, o, cutoff)
    cats = np.asarray(vocab.CATEGORIES, dtype=object)[products.category]
    product_table = {
        "product_id": products.product_id,
        "name": np.char.add(
            np.char.replace(cats.astype(str), "_", " "),
            np.char.add(" #", products.product_id.astype(str)),
        ).astype(object),
        "category": cats,
        "price": products.price,
        "created_at": writers.sql_ts(products.created_at),
        "updated_at": writers.sql_ts(products.created_at),
    }
    writers.write_shop(
        path,
        {
            "customers": customers,
            "products": product_table,
            "orders": order_table,
            "order_items": item_table,
            "refunds": refund_table,
        },
    )
    counts = {
        "shop_customers": len(customers["customer_id"]),
        "shop_orders": len(o),
        "shop_order_items": len(items),
        "shop_products": len(products.product_id),
        "shop_refunds": len(refund_table["refund_id"]),
    }
    truth = {
        "shop_customer": (cust_id[exists], cust_person),
        "guest_order": (o[guest] + 1, person[guest]),
    }
    return counts, truth


# Partial refunds (a returned item, a goodwill credit) on some shipped orders,
# chosen by order number so that the random streams of the rest stay as they were.
PARTIAL_REFUND_PERCENT = 3
PARTIAL_REFUND_SHARE = 0.3
PARTIAL_REFUND_AFTER = 5 * DAY


def _refunds(orders, placed: np.ndarray, cutoff: int) -> dict[str, np.ndarray]:
    """A full refund for every refunded order, a partial one for a few shipped ones."""
    full = placed[(orders.refunded_at[placed] >= 0) & (orders.refunded_at[placed] < cutoff)]
    partial_at = orders.shipped_at + PARTIAL_REFUND_AFTER
    chosen = (placed * 2654435761 % 100) < PARTIAL_REFUND_PERCENT
    partial = placed[
        chosen
        & (orders.refunded_at[placed] < 0)
        & (orders.shipped_at[placed] >= 0)
        & (partial_at[placed] < cutoff)
    ]
    order = np.concatenate([full, partial])
    at = np.concatenate([orders.refunded_at[full], partial_at[partial]])
    amount = np.concatenate(
        [orders.total[full], np.round(orders.total[partial] * PARTIAL_REFUND_SHARE, 2)]
    )
    reason = np.asarray(["returned"] * len(full) + ["partial return"] * len(partial), dtype=object)
    return {
        "refund_id": order + 1,
        "order_id": order + 1,
        "order_item_id": np.full(len(order), None, dtype=object),
        "amount": amount,
        "reason": reason,
        "created_at": writers.sql_ts(at),
        "updated_at": writers.sql_ts(at),
    }
