with

source as (

    select * from {{ source('shop', 'shop_customers') }}
    where
        _logical_date <= {{ as_of_date() }}
        and updated_at < {{ as_of_end() }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by='customer_id',
        order_by='updated_at desc, _logical_date desc, _record_number desc'
    ) }}

),

renamed as (

    select
        -- ids
        customer_id,

        -- strings
        lower(trim(email)) as email,
        email as email_raw,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        phone as phone_raw,
        country as country_raw,

        -- timestamps
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from deduplicated

)

select * from renamed
