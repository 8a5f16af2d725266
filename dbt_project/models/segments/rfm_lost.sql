{#- rfm_lost: the RFM segment 'lost' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'lost'
