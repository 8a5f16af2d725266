{#- new_customer: first order within the last days, and the fallback segment of
    everyone with no purchase history, so that every customer has a segment. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    completed_orders = 0
    or {{ dbt.datediff('cast(first_order_at as date)', as_of_date(), 'day') }}
    <= {{ var('new_customer_max_days_since_first_order') }}
