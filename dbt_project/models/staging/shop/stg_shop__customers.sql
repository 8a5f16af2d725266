{#- A table: several models read it, and picking the current versions once is
    cheaper than in each of them. Phone numbers in E.164 and email verdicts
    are looked up downstream (int_phone_numbers, int_email_addresses). -#}
{{ config(materialized='table') }}

with

source as (

    {{ current_versions(source('shop', 'shop_customers'), key='customer_id') }}

),

countries as (

    {{ country_lookup() }}

),

renamed as (

    select
        -- ids
        source.customer_id,

        -- strings
        {{ normalize_email('source.email') }} as email,
        source.email as email_raw,
        nullif(trim(source.first_name), '') as first_name,
        nullif(trim(source.last_name), '') as last_name,
        source.phone as phone_raw,
        countries.country_code,
        source.country as country_raw,
        {{ country_unmapped_reason('source.country', 'countries') }} as country_unmapped_reason,

        -- booleans

        -- timestamps
        source.created_at,
        source.updated_at,
        source._extracted_at as extracted_at,

        -- dates
        source._logical_date as load_date

    from source
    left outer join countries
        on lower(trim(source.country)) = countries.country_key

)

select * from renamed
