{#- Purchase-intent signals per customer over the short window that ends with
    the logical date (var high_purchase_intent_window_days). An "open" cart or
    checkout is one started after the customer's last order. The
    high_purchase_intent segment counts how many signals are on. -#}

{%- set window_start = dbt.dateadd('day', -var('high_purchase_intent_window_days'), as_of_end()) -%}
{%- set last_24_hours_start = dbt.dateadd('hour', -24, as_of_end()) -%}

with

events as (

    select * from {{ ref('int_customer_web_events') }}
    where occurred_at >= {{ window_start }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    where customer_id is not null

),

last_orders as (

    select
        customer_id,
        max(ordered_at) as last_ordered_at
    from orders
    group by customer_id

),

customer_events as (

    select
        events.*,
        last_orders.last_ordered_at is null
        or events.occurred_at > last_orders.last_ordered_at as is_after_last_order
    from events
    left outer join last_orders
        on events.customer_id = last_orders.customer_id

),

signals as (

    select
        customer_id,
        count(*) filter (
            where event_name = 'product_viewed' and occurred_at >= {{ last_24_hours_start }}
        ) as product_views_24h,
        count(distinct product_category) filter (
            where event_name = 'product_added'
        ) as cart_categories,
        coalesce(
            sum(product_price_eur) filter (
                where event_name = 'product_added' and is_after_last_order
            ),
            0
        ) as open_cart_value_eur,
        count(*) filter (
            where event_name = 'checkout_started' and is_after_last_order
        ) as open_checkout_starts
    from customer_events
    group by customer_id

),

flags as (

    select
        *,
        product_views_24h >= {{ var('high_purchase_intent_min_views_24h') }}
            as has_recent_product_views,
        cart_categories >= {{ var('high_purchase_intent_min_cart_categories') }}
            as has_multi_category_cart,
        open_cart_value_eur >= {{ var('high_purchase_intent_min_cart_value_eur') }}
            as has_abandoned_high_value_cart,
        open_checkout_starts >= {{ var('high_purchase_intent_min_checkout_starts') }}
            as has_repeated_checkout_starts
    from signals

),

final as (

    select
        *,
        cast(has_recent_product_views as integer)
        + cast(has_multi_category_cart as integer)
        + cast(has_abandoned_high_value_cart as integer)
        + cast(has_repeated_checkout_starts as integer) as intent_signal_count
    from flags

)

select * from final
