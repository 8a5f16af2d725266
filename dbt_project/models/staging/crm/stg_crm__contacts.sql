with

source as (

    {{ current_versions(source('crm', 'crm_contacts'), key='contact_id') }}

),

renamed as (

    select
        -- ids
        contact_id,

        -- strings
        lower(trim(email)) as email,
        email as email_raw,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        phone as phone_raw,
        country as country_raw,
        trim(city) as city,
        trim(postal_code) as postal_code,
        opt_in_source,
        lower(trim(lifecycle_stage)) as lifecycle_stage,

        -- booleans
        coalesce(email_opt_in, false) as is_email_opted_in,
        coalesce(is_deleted, false) as is_deleted,

        -- dates
        birth_date,

        -- timestamps
        opt_in_at as opted_in_at,
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
