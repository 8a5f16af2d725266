{#- rfm_need_attention: the RFM segment 'need_attention' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'need_attention'
