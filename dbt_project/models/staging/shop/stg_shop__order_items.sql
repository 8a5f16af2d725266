with

source as (

    {{ current_versions(source('shop', 'shop_order_items'), key='order_item_id') }}

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

    from source

)

select * from renamed
