"""The source contracts: which columns each source entity must deliver, and their types.

These are the single definition of what ``docs/sources.md`` describes. The
extractors check every record against them; a record that does not fit goes
to quarantine with the reason, and a source whose *columns* no longer fit
stops the extract with a :class:`~audiences.errors.SchemaDriftError`.

Every timestamp column is a business time: it must fall between the earliest
date (``AUDIENCES_EARLIEST_DATE``) and the end of the logical date.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from audiences.config import settings


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type the value must cast to
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values, when the field is an enumeration
    min_value: int | None = None  # lowest allowed number, when the field has one
    values_from: str | None = None  # where the allowed values come from (for the reason)
    # A column added to a shop table's contract after shops adopted it: a
    # table without it still extracts, the column null (never a required one).
    may_be_absent: bool = False


@dataclass(frozen=True)
class JsonField:
    """A field inside a JSON column that the warehouse converts to a type."""

    column: str
    key: str
    type: str

    @property
    def name(self) -> str:
        return f"{self.column}.{self.key}"


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    columns: tuple[Column, ...]
    json_fields: tuple[JsonField, ...] = ()
    # The person's identifiers in a record, as identity resolution keys them
    # (SQL over the typed columns, each written {column}): what erasure and
    # its suppression list match on.
    identifiers: tuple[str, ...] = ()
    # A table a source may not have (a shop that records no refunds): absent, it
    # delivers nothing, with a note; present, it must follow the contract.
    optional: bool = False
    # Conditions across columns (SQL over the typed columns, each written
    # {column}) that quarantine a record, each with its reason.
    rules: tuple[tuple[str, str], ...] = ()

    def identifier_keys(self, column=lambda name: f'"{name}"') -> str:
        """SQL of the list of the record's identity keys; ``column`` spells a column."""
        names = {c.name: column(c.name) for c in self.columns}
        return "[" + ", ".join(template.format(**names) for template in self.identifiers) + "]"

    @property
    def table(self) -> str:
        return f"{self.source}_{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(
    name: str,
    type_: str = "VARCHAR",
    required: bool = False,
    values=(),
    min_value: int | None = None,
    values_from: str | None = None,
    may_be_absent: bool = False,
) -> Column:
    return Column(name, type_, required, tuple(values), min_value, values_from, may_be_absent)


def _seed_values(seed: str, column: str) -> tuple[str, ...]:
    """A column of one of the dbt project's seeds (the values it can convert)."""
    with (settings().seeds_dir / f"{seed}.csv").open(newline="") as handle:
        return tuple(sorted({row[column] for row in csv.DictReader(handle)}))


# Prices keep the source's precision: sub-penny unit prices are real (bulk goods).
PRICE = "DECIMAL(18, 4)"


EMAIL_KEY = "'email:' || lower(trim({email}))"

CRM_CONTACTS = Entity(
    "crm",
    "contacts",
    (
        _c("contact_id", "BIGINT", required=True),
        _c("email"),
        _c("first_name"),
        _c("last_name"),
        _c("phone"),
        _c("country"),
        _c("city"),
        _c("postal_code"),
        _c("birth_date", "DATE"),
        _c("created_at", "TIMESTAMPTZ", required=True),
        _c("updated_at", "TIMESTAMPTZ", required=True),
        _c("email_opt_in", "BOOLEAN"),
        _c("opt_in_at", "TIMESTAMPTZ"),
        _c("opt_in_source"),
        _c("lifecycle_stage"),
        _c("is_deleted", "BOOLEAN"),
    ),
    identifiers=(
        "'crm_contact:' || cast({contact_id} as varchar)",
        EMAIL_KEY,
    ),
)

CRM_EMAIL_ACTIVITY = Entity(
    "crm",
    "email_activity",
    (
        _c("event_id", required=True),
        _c("contact_id", "BIGINT", required=True),
        _c("email"),
        _c("campaign_id", required=True),
        _c("campaign_type", required=True, values=("marketing", "transactional")),
        _c(
            "event_type",
            required=True,
            values=(
                "sent",
                "delivered",
                "open",
                "click",
                "bounce",
                "unsubscribe",
                "spam_complaint",
            ),
        ),
        _c("occurred_at", "TIMESTAMPTZ", required=True),
        _c("url"),
    ),
    identifiers=(
        "'crm_contact:' || cast({contact_id} as varchar)",
        EMAIL_KEY,
    ),
)

WEB_EVENTS = Entity(
    "web",
    "events",
    (
        _c("message_id", required=True),
        _c("type", required=True, values=("page", "track", "identify")),
        _c("event"),
        _c("anonymous_id"),
        _c("user_id"),
        _c("timestamp", "TIMESTAMPTZ", required=True),
        _c("received_at", "TIMESTAMPTZ"),
        _c("properties", "JSON"),
        _c("context", "JSON"),
        _c("traits", "JSON"),
    ),
    # What stg_web__events converts: a price that is not a number is the
    # event's defect, not the night's.
    json_fields=(
        JsonField("properties", "price", PRICE),
        JsonField("properties", "revenue", "DECIMAL(18, 2)"),
    ),
    identifiers=(
        "'anonymous_id:' || {anonymous_id}",
        "'shop_customer:' || {user_id}",
        "'email:' || lower(trim(json_extract_string({traits}, '$.email')))",
    ),
)

SHOP_CUSTOMERS = Entity(
    "shop",
    "customers",
    (
        _c("customer_id", "BIGINT", required=True),
        _c("email"),
        _c("first_name"),
        _c("last_name"),
        _c("phone"),
        _c("country"),
        _c("created_at", "TIMESTAMPTZ", required=True),
        _c("updated_at", "TIMESTAMPTZ", required=True),
    ),
    identifiers=(
        "'shop_customer:' || cast({customer_id} as varchar)",
        EMAIL_KEY,
    ),
)

SHOP_ORDERS = Entity(
    "shop",
    "orders",
    (
        _c("order_id", "BIGINT", required=True),
        _c("customer_id", "BIGINT"),
        _c("email"),
        _c("status", required=True, values=("placed", "paid", "shipped", "cancelled", "refunded")),
        _c(
            "currency",
            required=True,
            values=_seed_values("currency_rates", "currency"),
            values_from="seeds/currency_rates.csv",
        ),
        _c("subtotal", "DECIMAL(18, 2)", required=True, min_value=0),
        _c("shipping", "DECIMAL(18, 2)"),
        _c("tax", "DECIMAL(18, 2)"),
        _c("total", "DECIMAL(18, 2)", required=True, min_value=0),
        _c("created_at", "TIMESTAMPTZ", required=True),
        _c("updated_at", "TIMESTAMPTZ", required=True),
    ),
    identifiers=(
        "'shop_customer:' || cast({customer_id} as varchar)",
        "'guest_order:' || cast({order_id} as varchar)",
        "'order:' || cast({order_id} as varchar)",
        EMAIL_KEY,
    ),
)

SHOP_ORDER_ITEMS = Entity(
    "shop",
    "order_items",
    (
        _c("order_item_id", "BIGINT", required=True),
        _c("order_id", "BIGINT", required=True),
        _c("product_id", "BIGINT", required=True),
        _c("quantity", "INTEGER", required=True),
        _c("unit_price", PRICE, required=True),
        _c("created_at", "TIMESTAMPTZ", required=True),
        _c("updated_at", "TIMESTAMPTZ", required=True),
    ),
    # No personal data; erased with the order they belong to.
    identifiers=("'order:' || cast({order_id} as varchar)",),
)

SHOP_REFUNDS = Entity(
    "shop",
    "refunds",
    (
        _c("refund_id", "BIGINT", required=True),
        # Null: a customer-level adjustment (a credit note booked on no order).
        _c("order_id", "BIGINT"),
        _c("order_item_id", "BIGINT"),
        _c("amount", "DECIMAL(18, 2)", required=True, min_value=0),
        _c("reason"),
        _c("created_at", "TIMESTAMPTZ", required=True),
        _c("updated_at", "TIMESTAMPTZ", required=True),
        # Whose money it was, for a refund on no order (the order says it otherwise).
        _c("customer_id", "BIGINT", may_be_absent=True),
        # The order's currency by default; a refund on no order must name its own.
        _c(
            "currency",
            values=_seed_values("currency_rates", "currency"),
            values_from="seeds/currency_rates.csv",
            may_be_absent=True,
        ),
    ),
    identifiers=(
        "'order:' || cast({order_id} as varchar)",
        "'shop_customer:' || cast({customer_id} as varchar)",
    ),
    optional=True,
    rules=(("{order_id} is null and {currency} is null", "no currency for a refund on no order"),),
)

SHOP_PRODUCTS = Entity(
    "shop",
    "products",
    (
        _c("product_id", "BIGINT", required=True),
        _c("name", required=True),
        _c("category"),
        _c("price", PRICE),
        _c("created_at", "TIMESTAMPTZ", required=True),
        _c("updated_at", "TIMESTAMPTZ", required=True),
    ),
)

ENTITIES = (
    CRM_CONTACTS,
    CRM_EMAIL_ACTIVITY,
    WEB_EVENTS,
    SHOP_CUSTOMERS,
    SHOP_ORDERS,
    SHOP_ORDER_ITEMS,
    SHOP_REFUNDS,
    SHOP_PRODUCTS,
)
SOURCES = ("crm", "web", "shop")


def entities_of(source: str) -> tuple[Entity, ...]:
    return tuple(e for e in ENTITIES if e.source == source)
