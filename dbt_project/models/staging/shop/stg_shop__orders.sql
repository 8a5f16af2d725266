with

source as (

    {{ current_versions(source('shop', 'shop_orders'), key='order_id') }}

),

renamed as (

    select
        -- ids
        source.order_id,
        source.customer_id,

        -- strings
        {{ normalize_email('source.email') }} as email,
        source.email as email_raw,
        {{ snake_case('source.status') }} as order_status,
        upper(trim(source.currency)) as currency,

        -- numerics
        source.subtotal,
        source.shipping,
        source.tax,
        source.total,

        -- booleans
        source.customer_id is null as is_guest_checkout,

        -- timestamps
        source.created_at as ordered_at,
        source.updated_at,
        source._extracted_at as extracted_at,

        -- dates
        source._logical_date as load_date

    from source

)

select * from renamed
