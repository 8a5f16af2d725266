with

source as (

    {{ current_versions(source('shop', 'shop_products'), key='product_id') }}

),

renamed as (

    select
        -- ids
        product_id,

        -- strings
        trim(name) as product_name,
        {{ snake_case('category') }} as product_category,

        -- numerics
        price,

        -- timestamps
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
