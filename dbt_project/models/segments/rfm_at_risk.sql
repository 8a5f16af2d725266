{#- rfm_at_risk: the RFM segment 'at_risk' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'at_risk'
