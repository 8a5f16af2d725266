with

source as (

    {{ current_versions(source('shop', 'shop_orders'), key='order_id') }}

),

email_addresses as (

    select * from {{ ref('stg_email_addresses') }}

),

renamed as (

    select
        -- ids
        source.order_id,
        source.customer_id,

        -- strings
        {{ normalize_email('source.email') }} as email,
        source.email as email_raw,
        email_addresses.email_invalid_reason,
        {{ snake_case('source.status') }} as order_status,
        upper(trim(source.currency)) as currency,

        -- numerics
        source.subtotal,
        source.shipping,
        source.tax,
        source.total,

        -- booleans
        coalesce(email_addresses.is_email_valid, false) as is_email_valid,
        source.customer_id is null as is_guest_checkout,

        -- timestamps
        source.created_at as ordered_at,
        source.updated_at,
        source._extracted_at as extracted_at

    from source
    left outer join email_addresses
        on {{ normalize_email('source.email') }} = email_addresses.email

)

select * from renamed
