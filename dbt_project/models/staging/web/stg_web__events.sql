{#- Incremental (see macros/incremental.sql): a night reads the raw partitions
    loaded since the last build. Events stamped after the logical date are
    kept; the models that read them filter on occurred_at. -#}

{{ config(
    materialized=audiences.materialized_incremental(),
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

    {{ deduplicate_redeliveries(
        'source',
        key='message_id',
        order_by='received_at, _logical_date, _source_file, _record_number'
    ) }}

),

fields as (

    -- One parse of each JSON column where the engine can (DuckDB: a path
    -- list extracts every field of one document at once).
    select
        *,
        {{ audiences.json_strings(
            'properties',
            ['$.product_id', '$.order_id', '$.category', '$.currency', '$.price', '$.revenue'],
        ) }} as property,
        {{ audiences.json_strings(
            'context', ['$.page.path', '$.campaign.source', '$.userAgent']
        ) }} as context_field,
        {{ normalize_email(audiences.json_string('traits', '$.email')) }} as traits_email
    from deduplicated

),

renamed as (

    select
        -- ids
        message_id as event_id,
        anonymous_id,
        user_id,
        {{ audiences.list_item('property', 1) }} as product_id,
        {{ audiences.list_item('property', 2) }} as order_id,

        -- strings
        type as event_type,
        {{ snake_case('event') }} as event_name,
        {{ snake_case(audiences.list_item('property', 3)) }} as product_category,
        {{ audiences.list_item('context_field', 1) }} as page_path,
        {{ audiences.list_item('context_field', 2) }} as utm_source,
        {{ audiences.list_item('context_field', 3) }} as user_agent,
        traits_email,
        {{ audiences.list_item('property', 4) }} as currency,
        properties,
        context,
        traits,

        -- numerics
        {{ audiences.try_cast(audiences.list_item('property', 5), 'decimal(18, 4)') }}
            as product_price,
        {{ audiences.try_cast(audiences.list_item('property', 6), 'decimal(18, 2)') }}
            as revenue,

        -- timestamps
        timestamp as occurred_at,
        received_at,
        _extracted_at as extracted_at,
        _logical_date as load_date

    from fields

)

select * from renamed
