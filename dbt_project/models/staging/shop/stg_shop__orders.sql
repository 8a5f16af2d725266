with

source as (

    select * from {{ source('shop', 'shop_orders') }}
    where
        _logical_date <= {{ as_of_date() }}
        and updated_at < {{ as_of_end() }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by='order_id',
        order_by='updated_at desc, _logical_date desc, _record_number desc'
    ) }}

),

renamed as (

    select
        -- ids
        order_id,
        customer_id,

        -- strings
        lower(trim(email)) as email,
        email as email_raw,
        lower(trim(status)) as order_status,
        upper(trim(currency)) as currency,

        -- numerics
        subtotal,
        shipping,
        tax,
        total,

        -- booleans
        customer_id is null as is_guest_checkout,

        -- timestamps
        created_at as ordered_at,
        updated_at,
        _extracted_at as extracted_at

    from deduplicated

)

select * from renamed
