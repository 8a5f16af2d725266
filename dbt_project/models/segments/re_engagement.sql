{#- re_engagement: people we email who stopped opening. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    last_marketing_email_sent_at
    >= {{ dbt.dateadd('day', -var('re_engagement_sent_within_days'), as_of_end()) }}
    and (
        last_email_opened_at is null
        or last_email_opened_at
        < {{ dbt.dateadd('day', -var('re_engagement_no_open_days'), as_of_end()) }}
    )
