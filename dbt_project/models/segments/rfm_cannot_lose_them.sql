{#- rfm_cannot_lose_them: the RFM segment 'cannot_lose_them' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'cannot_lose_them'
