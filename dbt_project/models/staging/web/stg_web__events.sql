{#- Incremental (see macros/incremental.sql): a night reads the raw partitions
    loaded since the last build. Events stamped after the logical date are
    kept; the models that read them filter on occurred_at. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_id',
    on_schema_change='fail',
    pre_hook="{{ audiences.delete_reloaded_nights() }}",
) }}

{%- set since = audiences.incremental_since() %}

with

source as (

    select * from {{ source('web', 'web_events') }}
    where
        _logical_date <= {{ as_of_date() }}
        and {{ audiences.keys_loaded_since(source('web', 'web_events'), 'message_id', since) }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by='message_id',
        order_by='received_at, _logical_date, _source_file, _record_number'
    ) }}

),

renamed as (

    select
        -- ids
        message_id as event_id,
        anonymous_id,
        user_id,
        json_extract_string(properties, '$.product_id') as product_id,
        json_extract_string(properties, '$.order_id') as order_id,

        -- strings
        type as event_type,
        {{ snake_case('event') }} as event_name,
        {{ snake_case("json_extract_string(properties, '$.category')") }} as product_category,
        json_extract_string(context, '$.page.path') as page_path,
        json_extract_string(context, '$.campaign.source') as utm_source,
        json_extract_string(context, '$.userAgent') as user_agent,
        {{ normalize_email("json_extract_string(traits, '$.email')") }} as traits_email,
        json_extract_string(properties, '$.currency') as currency,
        properties,
        context,
        traits,

        -- numerics
        cast(json_extract_string(properties, '$.price') as decimal(18, 2)) as product_price,
        cast(json_extract_string(properties, '$.revenue') as decimal(18, 2)) as revenue,

        -- booleans
        {{ is_valid_email(normalize_email("json_extract_string(traits, '$.email')")) }}
            as is_traits_email_valid,

        -- timestamps
        timestamp as occurred_at,
        received_at,
        _extracted_at as extracted_at,
        _logical_date as load_date

    from deduplicated

)

select * from renamed
