{#- A table: several models read it, and picking the current versions once is
    cheaper than in each of them. Phone numbers come from stg_phone_numbers,
    email verdicts from stg_email_addresses. -#}
{{ config(materialized='table') }}

with

source as (

    {{ current_versions(source('shop', 'shop_customers'), key='customer_id') }}

),

countries as (

    {{ country_lookup() }}

),

phone_numbers as (

    select * from {{ ref('stg_phone_numbers') }}

),

email_addresses as (

    select * from {{ ref('stg_email_addresses') }}

),

renamed as (

    select
        -- ids
        source.customer_id,

        -- strings
        {{ normalize_email('source.email') }} as email,
        source.email as email_raw,
        email_addresses.email_invalid_reason,
        nullif(trim(source.first_name), '') as first_name,
        nullif(trim(source.last_name), '') as last_name,
        phone_numbers.phone_e164,
        source.phone as phone_raw,
        countries.country_code,
        source.country as country_raw,
        {{ country_unmapped_reason('source.country', 'countries') }} as country_unmapped_reason,

        -- booleans
        coalesce(email_addresses.is_email_valid, false) as is_email_valid,

        -- timestamps
        source.created_at,
        source.updated_at,
        source._extracted_at as extracted_at

    from source
    left outer join countries
        on lower(trim(source.country)) = countries.country_key
    left outer join phone_numbers
        on
            source.phone = phone_numbers.phone_raw
            and countries.country_code is not distinct from phone_numbers.country_code
    left outer join email_addresses
        on {{ normalize_email('source.email') }} = email_addresses.email

)

select * from renamed
