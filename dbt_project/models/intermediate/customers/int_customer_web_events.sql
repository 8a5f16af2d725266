{#- Web events attributed to a resolved customer, as of the logical date
    (macro attribute_web_events): through the userId (a shop account) or,
    failing that, the anonymousId (a device an identify call or a login tied
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

customer_events as (

    {{ attribute_web_events('events') }}

)

select * from customer_events
