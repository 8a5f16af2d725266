"""Shopping behaviour: web sessions, their funnel events, and the orders they produce.

Everything is drawn per session and expanded to events with ``np.repeat``, so
the cost is a handful of array operations whatever the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiences.generate import vocab
from audiences.generate.people import DAY, People

PRODUCTS_PER_CATEGORY = 60

# Event kinds, in the order they happen inside a session.
PAGE, IDENTIFY_LOGIN, VIEWED, ADDED, CHECKOUT, IDENTIFY_GUEST, ORDERED = range(7)
KIND_TYPE = np.array(["page", "identify", "track", "track", "track", "identify", "track"])
KIND_EVENT = np.array(
    ["", "", "Product Viewed", "Product Added", "Checkout Started", "", "Order Completed"]
)


@dataclass
class Products:
    product_id: np.ndarray
    category: np.ndarray
    price: np.ndarray
    created_at: np.ndarray


@dataclass
class Sessions:
    person: np.ndarray  # -1 for visitors who never identify
    device: np.ndarray  # index into the device (anonymousId) table
    start: np.ndarray
    logged_in: np.ndarray
    product: np.ndarray  # the product the session is about
    utm: np.ndarray  # index into UTM_SOURCES, -1 for none
    counts: np.ndarray  # (sessions, 7) events of each kind


@dataclass
class Events:
    session: np.ndarray
    kind: np.ndarray
    ts: np.ndarray
    received: np.ndarray
    product: np.ndarray
    order: np.ndarray  # order index for Order Completed, else -1


@dataclass
class Orders:
    person: np.ndarray
    logged_in: np.ndarray
    placed_at: np.ndarray
    paid_at: np.ndarray  # -1 when never paid
    shipped_at: np.ndarray
    cancelled_at: np.ndarray
    refunded_at: np.ndarray
    currency: np.ndarray
    subtotal: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    item_order: np.ndarray  # per order item: index of its order
    item_product: np.ndarray
    item_quantity: np.ndarray
    item_price: np.ndarray


def make_products(rng: np.random.Generator, start: int) -> Products:
    n = len(vocab.CATEGORIES) * PRODUCTS_PER_CATEGORY
    price = np.round(np.exp(rng.normal(3.9, 0.75, size=n)), 0) - 0.01
    return Products(
        product_id=np.arange(1, n + 1),
        category=np.repeat(np.arange(len(vocab.CATEGORIES)), PRODUCTS_PER_CATEGORY),
        price=np.clip(price, 4.99, 899.99),
        created_at=start - rng.integers(30 * DAY, 900 * DAY, size=n),
    )


def make_sessions(rng: np.random.Generator, people: People, start: int, end: int) -> Sessions:
    days = (end - start) / DAY
    n_person_sessions = rng.poisson(people.engagement * days / 30.0)
    person = np.repeat(np.arange(people.n), n_person_sessions)
    # A device per session, drawn among the person's own devices.
    device = people.device_offset[person] + (
        rng.random(len(person)) * people.devices[person]
    ).astype(np.int64)
    earliest = np.maximum(start, people.created_at[person] - 3 * DAY)
    p_start = earliest + (rng.random(len(person)) * (end - earliest)).astype(np.int64)
    logged_in = people.has_account[person] & (rng.random(len(person)) < 0.6)

    # Visitors who never tell us who they are: one device each.
    n_devices = int(people.devices.sum())
    n_anon = int(people.n * 0.8)
    anon_sessions = 1 + rng.poisson(0.3, size=n_anon)
    anon_device = np.repeat(n_devices + np.arange(n_anon), anon_sessions)
    anon_start = rng.integers(start, end, size=len(anon_device))

    person = np.concatenate([person, np.full(len(anon_device), -1)])
    device = np.concatenate([device, anon_device])
    s_start = np.concatenate([p_start, anon_start])
    logged_in = np.concatenate([logged_in, np.zeros(len(anon_device), dtype=bool)])
    n = len(person)
    known = person >= 0

    eng = np.where(known, people.engagement[np.maximum(person, 0)], 0.5)
    views = rng.poisson(1.2 + 0.4 * np.minimum(eng, 5.0))
    added = (views > 0) & (rng.random(n) < 0.3)
    checkouts = (added & (rng.random(n) < 0.55)) * (1 + (rng.random(n) < 0.25))
    # Heavy users are also the surest buyers once they reach checkout.
    ordered = known & (checkouts > 0) & (rng.random(n) < 0.4 + 0.05 * np.minimum(eng, 8.0))
    guest_identify = known & ~logged_in & (checkouts > 0)
    counts = np.stack(
        [
            np.ones(n, dtype=np.int64),
            (logged_in & (rng.random(n) < 0.5)).astype(np.int64),
            views,
            added.astype(np.int64),
            checkouts.astype(np.int64),
            guest_identify.astype(np.int64),
            ordered.astype(np.int64),
        ],
        axis=1,
    )
    category = rng.integers(0, len(vocab.CATEGORIES), size=n)
    product = 1 + category * PRODUCTS_PER_CATEGORY + rng.integers(0, PRODUCTS_PER_CATEGORY, n)
    utm = np.where(rng.random(n) < 0.3, rng.integers(0, len(vocab.UTM_SOURCES), n), -1)
    order = np.argsort(s_start, kind="stable")
    return Sessions(
        person=person[order],
        device=device[order],
        start=s_start[order],
        logged_in=logged_in[order],
        product=product[order],
        utm=utm[order],
        counts=counts[order],
    )


def make_events(rng: np.random.Generator, sessions: Sessions, late_share: float) -> Events:
    per_session = sessions.counts.sum(axis=1)
    session = np.repeat(np.arange(len(per_session)), per_session)
    first = np.cumsum(per_session) - per_session
    position = np.arange(len(session)) - first[session]
    bounds = np.cumsum(sessions.counts, axis=1)
    kind = np.zeros(len(session), dtype=np.int8)
    for column in range(bounds.shape[1] - 1):  # one column at a time keeps memory flat
        kind += position >= bounds[session, column]
    ts = sessions.start[session] + position * 40 + rng.integers(0, 40, size=len(session))
    delay = rng.integers(1, 6, size=len(session))
    late = rng.random(len(session)) < late_share
    delay[late] = rng.integers(3600, 72 * 3600, size=int(late.sum()))
    # Browsing wanders off the session's product now and then.
    product = sessions.product[session].copy()
    wander = (kind == VIEWED) & (rng.random(len(session)) < 0.4)
    product[wander] = 1 + rng.integers(
        0, len(vocab.CATEGORIES) * PRODUCTS_PER_CATEGORY, size=int(wander.sum())
    )
    return Events(
        session=session,
        kind=kind,
        ts=ts,
        received=ts + delay,
        product=product,
        order=np.full(len(session), -1),
    )


def make_orders(
    rng: np.random.Generator, people: People, sessions: Sessions, events: Events, products: Products
) -> Orders:
    is_order = events.kind == ORDERED
    placed = events.ts[is_order]
    sort = np.argsort(placed, kind="stable")
    event_idx = np.flatnonzero(is_order)[sort]
    events.order[event_idx] = np.arange(len(event_idx))
    s = events.session[event_idx]
    person = sessions.person[s]
    n = len(event_idx)
    placed = events.ts[event_idx]

    cancelled = rng.random(n) < 0.05
    paid = np.where(cancelled & (rng.random(n) < 0.7), -1, placed + rng.integers(30, 1800, n))
    cancelled_at = np.where(cancelled, placed + rng.integers(3600, 12 * 3600, n), -1)
    shipped = np.where(cancelled, -1, placed + rng.integers(DAY, 3 * DAY, n))
    refunded = ~cancelled & (rng.random(n) < 0.06)
    refunded_at = np.where(refunded, shipped + rng.integers(2 * DAY, 20 * DAY, n), -1)

    n_items = 1 + rng.poisson(0.7, size=n)
    item_order = np.repeat(np.arange(n), n_items)
    first_item = np.cumsum(n_items) - n_items
    item_product = 1 + rng.integers(0, len(products.product_id), size=len(item_order))
    item_product[first_item] = sessions.product[s]
    item_quantity = 1 + (rng.random(len(item_order)) < 0.15)
    item_price = products.price[item_product - 1]
    subtotal = np.round(np.bincount(item_order, weights=item_quantity * item_price, minlength=n), 2)

    currency_of = {c: v[1] for c, v in vocab.COUNTRIES.items()}
    currency = np.asarray([currency_of[c] for c in people.country[person]], dtype=object)
    vat = np.where(np.isin(currency, ["EUR", "GBP"]), 0.2, 0.08)
    shipping = np.where(subtotal >= 100, 0.0, 4.95)
    tax = np.round(subtotal * vat, 2)
    return Orders(
        person=person,
        logged_in=sessions.logged_in[s],
        placed_at=placed,
        paid_at=paid,
        shipped_at=shipped,
        cancelled_at=cancelled_at,
        refunded_at=refunded_at,
        currency=currency,
        subtotal=subtotal,
        shipping=shipping,
        tax=tax,
        total=np.round(subtotal + shipping + tax, 2),
        item_order=item_order,
        item_product=item_product,
        item_quantity=item_quantity,
        item_price=item_price,
    )


def order_state_at(orders: Orders, cutoff: int) -> tuple[np.ndarray, np.ndarray]:
    """The status and ``updated_at`` each order shows in the shop database at ``cutoff``."""
    status = np.full(len(orders.placed_at), "placed", dtype=object)
    updated = orders.placed_at.copy()
    for name, at in (
        ("paid", orders.paid_at),
        ("shipped", orders.shipped_at),
        ("cancelled", orders.cancelled_at),
        ("refunded", orders.refunded_at),
    ):
        happened = (at >= 0) & (at <= cutoff) & (at >= updated)
        status[happened] = name
        updated = np.where(happened, at, updated)
    return status, updated
