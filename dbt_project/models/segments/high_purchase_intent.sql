{#- high_purchase_intent: several buying signals in a short window
    (int_customer_purchase_intent computes them). -#}

with

intent as (

    select * from {{ ref('int_customer_purchase_intent') }}

)

select customer_id
from intent
where
    intent_signal_count >= {{ var('high_purchase_intent_min_signals') }}
