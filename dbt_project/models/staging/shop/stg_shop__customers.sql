with

source as (

    {{ current_versions(source('shop', 'shop_customers'), key='customer_id') }}

),

renamed as (

    select
        -- ids
        customer_id,

        -- strings
        lower(trim(email)) as email,
        email as email_raw,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        phone as phone_raw,
        country as country_raw,

        -- timestamps
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
