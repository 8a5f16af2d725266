{#- Web events per day and identifier pair (the userId and the anonymousId
    the events carried), counted for the point-in-time features
    (int_customer_features attributes them to customers as
    macro attribute_web_events does). Every staged event is counted,
    whoever it belongs to, and the day is the event's (UTC): events stamped
    after the logical date are kept, and their readers filter on the day.
    Incremental by day (macros/activity_days.sql).
    Grain: activity_on, user_id, anonymous_id. -#}

{{ config(
    materialized=audiences.materialized_incremental(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ audiences.delete_recounted_days(ref('stg_web__events')) }}",
) }}

{%- set days = audiences.activity_days_to_recount(ref('stg_web__events')) %}

with

events as (

    select * from {{ ref('stg_web__events') }}
    where {{ audiences.activity_days_filter(days) }}

),

counted as (

    select
        cast(occurred_at as date) as activity_on,
        user_id,
        anonymous_id,
        cast(count(*) as integer) as web_events,
        cast(count(case when event_name = 'product_viewed' then 1 end) as integer) as product_views,
        cast(count(case when event_name = 'product_added' then 1 end) as integer) as cart_adds,
        cast(count(case when event_name = 'checkout_started' then 1 end) as integer)
            as checkout_starts,
        max(load_date) as last_load_date
    from events
    group by cast(occurred_at as date), user_id, anonymous_id

)

select * from counted
