{#- cart_abandoner: added to cart, no order in the hours after. -#}

{%- set window_start = dbt.dateadd('day', -var('cart_abandoner_lookback_days'), as_of_end()) -%}
{%- set waited_until = dbt.dateadd('hour', -var('cart_abandoner_wait_hours'), as_of_end()) -%}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    last_cart_added_at >= {{ window_start }}
    and last_cart_added_at <= {{ waited_until }}
    and (last_order_placed_at is null or last_order_placed_at < last_cart_added_at)
