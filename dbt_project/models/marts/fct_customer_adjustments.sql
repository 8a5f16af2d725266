{#- Money given back that no order's net revenue holds, so that a customer's net
    revenue is what the ledger says (sales minus credit notes):
    - 'no order': a refund booked on no order (a credit note for a manual
      correction, postage, a discount, bank charges), or on an order the shop
      does not hold;
    - 'above order total': what the refunds of an order gave back beyond its
      total (an order's own net revenue never goes below 0).
    The customer is the order's, or the refund's shop customer; null when the
    refund can be tied to nobody (the run report lists these per night).
    Grain: refund_id (an order's excess carries its latest refund's id). -#}

with

refunds as (

    select * from {{ ref('stg_shop__refunds') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

identities as (

    select * from {{ ref('customer_identities') }}

),

rates as (

    select * from {{ ref('int_currency_rates') }}

),

per_order as (

    select
        order_id,
        sum(refund_amount) as refunded,
        max(refund_id) as refund_id,
        max(refunded_at) as refunded_at,
        max(load_date) as load_date
    from refunds
    where order_id is not null
    group by order_id

),

above_total as (

    select
        per_order.refund_id,
        'above order total' as adjustment_type,
        orders.order_id,
        orders.customer_id,
        orders.shop_customer_id,
        orders.currency,
        per_order.refunded - orders.total as amount,
        -- At the order's rate, as the order's own net revenue.
        cast(orders.ordered_at as date) as rate_date,
        per_order.refunded_at,
        per_order.load_date
    from per_order
    inner join orders
        on per_order.order_id = orders.order_id
    where
        orders.order_status in ('paid', 'shipped', 'refunded')
        and per_order.refunded > orders.total

),

no_order as (

    select
        refunds.refund_id,
        'no order' as adjustment_type,
        refunds.order_id,
        identities.customer_id,
        refunds.shop_customer_id,
        refunds.currency,
        refunds.refund_amount as amount,
        cast(refunds.refunded_at as date) as rate_date,
        refunds.refunded_at,
        refunds.load_date
    from refunds
    left outer join orders
        on refunds.order_id = orders.order_id
    left outer join identities
        on identities.identifier_key = 'shop_customer:' || cast(refunds.shop_customer_id as string)
    where orders.order_id is null

),

adjustments as (

    select * from above_total
    union all
    select * from no_order

),

final as (

    select
        -- ids
        adjustments.refund_id,
        adjustments.order_id,
        adjustments.customer_id,
        adjustments.shop_customer_id,

        -- strings
        adjustments.adjustment_type,
        adjustments.currency,

        -- numerics
        cast(adjustments.amount as decimal(18, 2)) as amount,
        cast(adjustments.amount * rates.rate_to_eur as decimal(18, 2)) as amount_eur,

        -- booleans
        adjustments.customer_id is null as is_unattributed,

        -- timestamps
        adjustments.refunded_at,

        -- dates
        adjustments.load_date

    from adjustments
    left outer join rates
        on
            adjustments.currency = rates.currency
            and adjustments.rate_date >= rates.valid_from
            and (rates.valid_to is null or adjustments.rate_date < rates.valid_to)

)

select * from final
