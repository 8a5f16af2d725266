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

        -- booleans
        -- The same product, quantity and price again in one order: a double
        -- scan or a re-sent line. Kept unless the project collapses them
        -- (var collapse_duplicate_order_lines); counted in fct_orders.
        row_number() over (
            partition by order_id, product_id, quantity, unit_price
            order by order_item_id
        ) > 1 as is_duplicate_line,

        -- timestamps
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
