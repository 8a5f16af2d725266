{#- loyal_engaged: repeat buyers who read our marketing email. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    completed_orders > {{ var('loyal_engaged_min_completed_orders') }}
    and has_opened_last_3_marketing
