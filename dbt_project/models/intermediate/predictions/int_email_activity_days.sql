{#- Email activity per day and CRM contact, counted for the point-in-time
    features (int_customer_features attributes it to customers through
    customer_identities). Every staged activity is counted; the day is the
    activity's (UTC), and activities stamped after the logical date are kept
    for their readers to filter. Incremental by day
    (macros/activity_days.sql). Grain: activity_on, contact_id. -#}

{{ config(
    materialized=audiences.materialized_incremental(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ audiences.delete_recounted_days(ref('stg_crm__email_activities')) }}",
) }}

{%- set days = audiences.activity_days_to_recount(ref('stg_crm__email_activities')) %}

with

activities as (

    select * from {{ ref('stg_crm__email_activities') }}
    where {{ audiences.activity_days_filter(days) }}

),

counted as (

    select
        cast(occurred_at as date) as activity_on,
        contact_id,
        cast(count(case when event_type = 'delivered' then 1 end) as integer) as emails_delivered,
        cast(count(case when event_type = 'open' then 1 end) as integer) as email_opens,
        cast(count(case when event_type = 'click' then 1 end) as integer) as email_clicks,
        max(load_date) as last_load_date
    from activities
    group by cast(occurred_at as date), contact_id

)

select * from counted
