{#- Incremental (see macros/incremental.sql): a night reads the raw partitions
    loaded since the last build. Events stamped after the logical date are
    kept; the models that read them filter on occurred_at. -#}

{{ config(
    materialized=audiences.materialized_incremental(),
    incremental_strategy='delete+insert',
    unique_key='email_event_id',
    on_schema_change='fail',
    pre_hook="{{ audiences.delete_reloaded_nights() }}",
) }}

{%- set since = audiences.incremental_since() %}

with

source as (

    select * from {{ source('crm', 'crm_email_activity') }}
    where
        _logical_date <= {{ as_of_date() }}
        and {{ audiences.keys_loaded_since(
            source('crm', 'crm_email_activity'), 'event_id', since
        ) }}

),

deduplicated as (

    {{ deduplicate_redeliveries(
        'source',
        key='event_id',
        order_by='_logical_date, _record_number'
    ) }}

),

renamed as (

    select
        -- ids
        event_id as email_event_id,
        contact_id,
        campaign_id,

        -- strings
        {{ normalize_email('email') }} as email,
        {{ snake_case('campaign_type') }} as campaign_type,
        {{ snake_case('event_type') }} as event_type,
        url,

        -- timestamps
        occurred_at,
        _extracted_at as extracted_at,
        _logical_date as load_date

    from deduplicated

)

select * from renamed
