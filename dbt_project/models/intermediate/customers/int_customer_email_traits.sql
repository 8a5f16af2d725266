{#- Email engagement per customer as of the logical date, from the CRM's
    email activity of every contact record that resolved to the customer. -#}

with

activities as (

    select * from {{ ref('stg_crm__email_activities') }}
    where occurred_at < {{ as_of_end() }}

),

identities as (

    select * from {{ ref('customer_identities') }}
    where identifier_type = 'crm_contact'

),

customer_activities as (

    select
        identities.customer_id,
        activities.campaign_id,
        activities.campaign_type,
        activities.event_type,
        activities.occurred_at
    from activities
    inner join identities
        on identities.identifier_key = 'crm_contact:' || cast(activities.contact_id as varchar)

),

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
        ) as last_marketing_email_sent_at
    from customer_activities
    group by customer_id

),

traits as (

    select
        engagement.*,
        coalesce(last_three.has_opened_last_3_marketing, false) as has_opened_last_3_marketing,
        cast(open_hours.open_hour as integer) as preferred_send_hour
    from engagement
    left outer join last_three
        on engagement.customer_id = last_three.customer_id
    left outer join open_hours
        on
            engagement.customer_id = open_hours.customer_id
            and open_hours.hour_rank = 1

)

select * from traits
