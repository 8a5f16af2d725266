{#- vip: big spenders who bought recently. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    average_order_value_eur > {{ var('vip_min_average_order_value_eur') }}
    and days_since_last_order <= {{ var('vip_max_days_since_last_order') }}
