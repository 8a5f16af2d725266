{#- rfm_about_to_sleep: the RFM segment 'about_to_sleep' (macros/rfm.sql). -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    rfm_segment = 'about_to_sleep'
