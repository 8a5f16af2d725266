with

source as (

    select * from {{ source('crm', 'crm_email_activity') }}
    where
        _logical_date <= {{ as_of_date() }}
        and occurred_at < {{ as_of_end() }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by='event_id',
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
        _extracted_at as extracted_at

    from deduplicated

)

select * from renamed
