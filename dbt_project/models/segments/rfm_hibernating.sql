{#- rfm_hibernating: the RFM segment 'hibernating' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'hibernating'
