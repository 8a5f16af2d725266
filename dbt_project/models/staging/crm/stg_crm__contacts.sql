{#- A table: several models read it, and picking the current versions once is
    cheaper than in each of them. Phone numbers in E.164 and email verdicts
    are looked up downstream (int_phone_numbers, int_email_addresses). -#}
{{ config(materialized='table') }}

with

source as (

    {#- A later version can switch the opt-in back on (an import): the
        ledger still needs to know when the contact opted out. -#}
    {{ current_versions(
        source('crm', 'crm_contacts'),
        key='contact_id',
        over_versions={
            'last_opted_out_at': "max(case when not coalesce(email_opt_in, false)"
                ~ " and opt_in_at < updated_at then updated_at end)",
        },
    ) }}

),

countries as (

    {{ country_lookup() }}

),

renamed as (

    select
        -- ids
        source.contact_id,

        -- strings
        {{ normalize_email('source.email') }} as email,
        source.email as email_raw,
        nullif(trim(source.first_name), '') as first_name,
        nullif(trim(source.last_name), '') as last_name,
        source.phone as phone_raw,
        countries.country_code,
        source.country as country_raw,
        {{ country_unmapped_reason('source.country', 'countries') }} as country_unmapped_reason,
        nullif(trim(source.city), '') as city,
        nullif(upper(trim(source.postal_code)), '') as postal_code,
        {{ snake_case('source.opt_in_source') }} as opt_in_source,
        {{ snake_case('source.lifecycle_stage') }} as lifecycle_stage,

        -- booleans
        coalesce(source.email_opt_in, false) as is_email_opted_in,
        coalesce(source.is_deleted, false) as is_deleted,

        -- dates
        source.birth_date,
        source._logical_date as load_date,

        -- timestamps
        source.opt_in_at as opted_in_at,
        source.last_opted_out_at,
        source.created_at,
        source.updated_at,
        source._extracted_at as extracted_at

    from source
    left outer join countries
        on lower(trim(source.country)) = countries.country_key

)

select * from renamed
