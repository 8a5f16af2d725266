{#- rfm_loyal_customers: the RFM segment 'loyal_customers' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'loyal_customers'
