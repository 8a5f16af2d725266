{#- rfm_potential_loyalists: the RFM segment 'potential_loyalists' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'potential_loyalists'
