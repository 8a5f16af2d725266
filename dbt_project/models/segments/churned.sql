{#- churned: repeat buyers who stopped ordering long ago. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    completed_orders >= 2
    and days_since_last_order >= {{ var('churned_min_days_since_last_order') }}
