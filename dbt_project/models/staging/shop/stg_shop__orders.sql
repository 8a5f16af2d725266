with

source as (

    {{ current_versions(source('shop', 'shop_orders'), key='order_id') }}

),

renamed as (

    select
        -- ids
        order_id,
        customer_id,

        -- strings
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ snake_case('status') }} as order_status,
        upper(trim(currency)) as currency,

        -- numerics
        subtotal,
        shipping,
        tax,
        total,

        -- booleans
        {{ is_valid_email(normalize_email('email')) }} as is_email_valid,
        customer_id is null as is_guest_checkout,

        -- timestamps
        created_at as ordered_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
