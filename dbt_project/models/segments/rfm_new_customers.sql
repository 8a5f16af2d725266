{#- rfm_new_customers: the RFM segment 'new_customers' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'new_customers'
