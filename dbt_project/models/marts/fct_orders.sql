with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

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
        case
            when orders.order_status in ('paid', 'shipped')
                then cast(orders.total * rates.rate_to_eur as decimal(18, 2))
            else cast(0 as decimal(18, 2))
        end as net_revenue_eur,
        coalesce(items_per_order.item_count, 0) as item_count,
        cast(coalesce(items_per_order.unit_count, 0) as bigint) as unit_count,
        coalesce(items_per_order.duplicate_line_count, 0) as duplicate_line_count,

        -- booleans
        orders.order_status in ('paid', 'shipped') as is_completed,
        orders.order_status = 'cancelled' as is_cancelled,
        orders.order_status = 'refunded' as is_refunded,
        orders.is_guest_checkout,

        -- timestamps
        orders.ordered_at,
        orders.updated_at

    from orders
    left outer join identities
        on identities.identifier_key = case
            when orders.customer_id is not null
                then 'shop_customer:' || cast(orders.customer_id as varchar)
            else 'guest_order:' || cast(orders.order_id as varchar)
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
