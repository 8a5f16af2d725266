{#- Web events attributed to a resolved customer, as of the logical date.
    An event belongs to a customer through its userId (a shop account) or,
    failing that, its anonymousId (a device an identify call or a login tied
    to them); events of devices nobody identified are left out. Product
    prices are converted to EUR with the currency_rates seed. A view: its
    readers filter it by time, and DuckDB pushes those filters into the scan
    (as a table it cost two minutes at a million customers). -#}

{{ config(materialized='view') }}

with

events as (

    select * from {{ ref('stg_web__events') }}
    where occurred_at < {{ as_of_end() }}

),

identities as (

    select * from {{ ref('customer_identities') }}
    where identifier_type in ('anonymous_id', 'shop_customer')

),

rates as (

    select * from {{ ref('int_currency_rates') }}

),

customer_events as (

    select
        coalesce(by_user.customer_id, by_device.customer_id) as customer_id,
        events.event_id,
        events.anonymous_id,
        events.event_type,
        events.event_name,
        events.product_id,
        events.product_category,
        cast(events.product_price * coalesce(rates.rate_to_eur, 1) as decimal(18, 2))
            as product_price_eur,
        events.occurred_at,
        events.load_date
    from events
    left outer join identities as by_user
        on by_user.identifier_key = 'shop_customer:' || events.user_id
    left outer join identities as by_device
        on by_device.identifier_key = 'anonymous_id:' || events.anonymous_id
    left outer join rates
        on
            upper(events.currency) = rates.currency
            and cast(events.occurred_at as date) >= rates.valid_from
            and (rates.valid_to is null or cast(events.occurred_at as date) < rates.valid_to)
    where coalesce(by_user.customer_id, by_device.customer_id) is not null

)

select * from customer_events
