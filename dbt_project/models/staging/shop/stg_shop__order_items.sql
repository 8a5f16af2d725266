with

source as (

    select * from {{ source('shop', 'shop_order_items') }}
    where
        _logical_date <= {{ as_of_date() }}
        and updated_at < {{ as_of_end() }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by='order_item_id',
        order_by='updated_at desc, _logical_date desc, _record_number desc'
    ) }}

),

renamed as (

    select
        -- ids
        order_item_id,
        order_id,
        product_id,

        -- numerics
        quantity,
        unit_price,
        quantity * unit_price as line_amount,

        -- timestamps
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from deduplicated

)

select * from renamed
