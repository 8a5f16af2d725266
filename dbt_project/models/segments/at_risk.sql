{#- at_risk: repeat buyers who have not ordered for a while. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    completed_orders >= 2
    and days_since_last_order >= {{ var('at_risk_min_days_since_last_order') }}
    and days_since_last_order < {{ var('churned_min_days_since_last_order') }}
