with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

refunds as (

    select
        order_id,
        sum(refund_amount) as refunded_amount
    from {{ ref('stg_shop__refunds') }}
    group by order_id

),

identities as (

    select * from {{ ref('customer_identities') }}

),

rates as (

    select * from {{ ref('int_currency_rates') }}

),

items_per_order as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity) as unit_count,
        count(case when is_duplicate_line then 1 end) as duplicate_line_count
    from order_items
    {% if var('collapse_duplicate_order_lines') -%}
        where not is_duplicate_line
    {%- endif %}
    group by order_id

),

amounts as (

    select
        orders.*,
        -- A refunded status without refund rows gave everything back; refunds
        -- never give back more than the order was.
        cast(case
            when orders.order_status = 'refunded' then orders.total
            else least(coalesce(refunds.refunded_amount, 0), orders.total)
        end as decimal(18, 2)) as refunded_amount
    from orders
    left outer join refunds
        on orders.order_id = refunds.order_id

),

final as (

    select
        -- ids
        orders.order_id,
        identities.customer_id,
        orders.customer_id as shop_customer_id,

        -- strings
        orders.email,
        orders.order_status,
        orders.currency,

        -- numerics
        orders.subtotal,
        orders.shipping,
        orders.tax,
        orders.total,
        cast(orders.total * rates.rate_to_eur as decimal(18, 2)) as total_eur,
        orders.refunded_amount,
        cast(orders.refunded_amount * rates.rate_to_eur as decimal(18, 2)) as refunded_eur,
        case
            when orders.order_status in ('paid', 'shipped')
                then cast(
                    (orders.total - orders.refunded_amount) * rates.rate_to_eur
                    as decimal(18, 2)
                )
            else cast(0 as decimal(18, 2))
        end as net_revenue_eur,
        coalesce(items_per_order.item_count, 0) as item_count,
        cast(coalesce(items_per_order.unit_count, 0) as bigint) as unit_count,
        coalesce(items_per_order.duplicate_line_count, 0) as duplicate_line_count,

        -- booleans
        -- A completed purchase: paid or shipped, and not all of it given back.
        orders.order_status in ('paid', 'shipped')
        and not (orders.total > 0 and orders.refunded_amount >= orders.total) as is_completed,
        orders.order_status = 'cancelled' as is_cancelled,
        orders.order_status = 'refunded'
        or (orders.total > 0 and orders.refunded_amount >= orders.total) as is_refunded,
        orders.is_guest_checkout,

        -- timestamps
        orders.ordered_at,
        orders.updated_at

    from amounts as orders
    left outer join identities
        on identities.identifier_key = case
            when orders.customer_id is not null
                then 'shop_customer:' || cast(orders.customer_id as string)
            else 'guest_order:' || cast(orders.order_id as string)
        end
    left outer join rates
        on
            orders.currency = rates.currency
            and cast(orders.ordered_at as date) >= rates.valid_from
            and (rates.valid_to is null or cast(orders.ordered_at as date) < rates.valid_to)
    left outer join items_per_order
        on orders.order_id = items_per_order.order_id

)

select * from final
