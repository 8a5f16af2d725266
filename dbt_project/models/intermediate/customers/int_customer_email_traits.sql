{#- Email engagement per customer as of the logical date, from the CRM's
    email activity of every contact record that resolved to the customer.
    Incremental by customer (macros/incremental_traits.sql): a night re-derives
    the customers whose activity, contacts or 30-day window changed. -#}

{{ config(
    materialized=audiences.materialized_incremental(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    post_hook="{{ audiences.delete_retracted_customers() }}",
) }}

-- depends_on: {{ ref('int_customer_id_assignments') }}

{%- set since = audiences.traits_since() %}

with

activities as (

    select * from {{ ref('stg_crm__email_activities') }}
    where occurred_at < {{ as_of_end() }}

),

identities as (

    select * from {{ ref('customer_identities') }}
    where identifier_type = 'crm_contact'

),

attributed_activities as (

    select
        identities.customer_id,
        activities.campaign_id,
        activities.campaign_type,
        activities.event_type,
        activities.occurred_at,
        activities.load_date
    from activities
    inner join identities
        on identities.identifier_key = 'crm_contact:' || cast(activities.contact_id as string)

),

{% if since is none %}

    customers as (

        select distinct customer_id from attributed_activities

    ),

    customer_activities as (

        select * from attributed_activities

    ),

{% else %}

    rederived as (

        {{ audiences.customers_rederived(since, ['crm_contact']) }}

    ),

    customers as (

        {{ audiences.customers_to_refresh(since, 'attributed_activities', [30 * 24 * 60]) }}

    ),

    customer_activities as (

        select * from attributed_activities
        where customer_id in (select customers.customer_id from customers)

    ),

{% endif %}

last_marketing_sends as (

    select
        customer_id,
        campaign_id,
        row_number() over (
            partition by customer_id order by min(occurred_at) desc, campaign_id desc
        ) as send_rank
    from customer_activities
    where campaign_type = 'marketing' and event_type = 'sent'
    group by customer_id, campaign_id

),

opened_campaigns as (

    select distinct
        customer_id,
        campaign_id
    from customer_activities
    where event_type = 'open'

),

last_three as (

    select
        last_marketing_sends.customer_id,
        count(*) = 3 and count(opened_campaigns.campaign_id) = 3 as has_opened_last_3_marketing
    from last_marketing_sends
    left outer join opened_campaigns
        on
            last_marketing_sends.customer_id = opened_campaigns.customer_id
            and last_marketing_sends.campaign_id = opened_campaigns.campaign_id
    where last_marketing_sends.send_rank <= 3
    group by last_marketing_sends.customer_id

),

open_hours as (

    select
        customer_id,
        extract(hour from occurred_at) as open_hour,
        row_number() over (
            partition by customer_id
            order by count(*) desc, extract(hour from occurred_at)
        ) as hour_rank
    from customer_activities
    where event_type = 'open'
    group by customer_id, extract(hour from occurred_at)

),

engagement as (

    select
        customer_id,
        count(*) filter (
            where event_type = 'sent' and occurred_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
        ) as emails_sent_30d,
        count(*) filter (
            where event_type = 'open' and occurred_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
        ) as email_opens_30d,
        count(*) filter (
            where event_type = 'click' and occurred_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
        ) as email_clicks_30d,
        max(occurred_at) filter (where event_type = 'open') as last_email_opened_at,
        max(occurred_at) filter (
            where event_type = 'sent' and campaign_type = 'marketing'
        ) as last_marketing_email_sent_at,
        max(load_date) as last_load_date
    from customer_activities
    group by customer_id

),

traits as (

    select
        customers.customer_id,
        engagement.emails_sent_30d,
        engagement.email_opens_30d,
        engagement.email_clicks_30d,
        engagement.last_email_opened_at,
        engagement.last_marketing_email_sent_at,
        coalesce(last_three.has_opened_last_3_marketing, false) as has_opened_last_3_marketing,
        cast(open_hours.open_hour as integer) as preferred_send_hour,
        engagement.last_load_date
    from customers
    left outer join engagement
        on customers.customer_id = engagement.customer_id
    left outer join last_three
        on customers.customer_id = last_three.customer_id
    left outer join open_hours
        on
            customers.customer_id = open_hours.customer_id
            and open_hours.hour_rank = 1

)

select * from traits
