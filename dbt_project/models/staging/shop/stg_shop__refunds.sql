with

source as (

    {{ current_versions(source('shop', 'shop_refunds'), key='refund_id') }}

),

renamed as (

    select
        -- ids
        refund_id,
        order_id,
        order_item_id,

        -- strings
        {{ snake_case('reason') }} as refund_reason,

        -- numerics
        amount as refund_amount,

        -- timestamps
        created_at as refunded_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
