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
        customer_id as shop_customer_id,

        -- strings
        {{ snake_case('reason') }} as refund_reason,
        upper(trim(currency)) as currency,

        -- numerics
        amount as refund_amount,

        -- timestamps
        created_at as refunded_at,
        updated_at,
        _extracted_at as extracted_at,

        -- dates
        _logical_date as load_date

    from source

)

select * from renamed
