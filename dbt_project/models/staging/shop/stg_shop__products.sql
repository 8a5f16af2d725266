with

source as (

    select * from {{ source('shop', 'shop_products') }}
    where
        _logical_date <= {{ as_of_date() }}
        and updated_at < {{ as_of_end() }}

),

deduplicated as (

    {{ deduplicate(
        'source',
        partition_by='product_id',
        order_by='updated_at desc, _logical_date desc, _record_number desc'
    ) }}

),

renamed as (

    select
        -- ids
        product_id,

        -- strings
        trim(name) as product_name,
        lower(replace(trim(category), ' ', '_')) as product_category,

        -- numerics
        price,

        -- timestamps
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from deduplicated

)

select * from renamed
