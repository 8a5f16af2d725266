{#- Every phone number spelling seen in the CRM's contacts and the shop's
    accounts, with the region its record's country gives, normalised to E.164
    once. libphonenumber runs in Python (tens of microseconds a number), so
    normalising every record on every build cost a minute and a half at a
    million customers; the staging models join this lookup instead.
    Incremental: a build adds the spellings it has not seen before. The
    normalisation depends on nothing but the spelling and the region, so the
    lookup holds for any logical date and needs no lookback. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

with

countries as (

    {{ country_lookup() }}

),

spellings as (

    select
        phone,
        country
    from {{ source('crm', 'crm_contacts') }}
    where phone is not null

    union

    select
        phone,
        country
    from {{ source('shop', 'shop_customers') }}
    where phone is not null

),

regional_spellings as (

    select distinct
        spellings.phone as phone_raw,
        countries.country_code
    from spellings
    left outer join countries
        on lower(trim(spellings.country)) = countries.country_key

),

new_spellings as (

    select * from regional_spellings
    {% if is_incremental() -%}
        where not exists (
            select 1 from {{ this }} as known
            where
                known.phone_raw = regional_spellings.phone_raw
                and known.country_code is not distinct from regional_spellings.country_code
        )
    {%- endif %}

),

normalised as (

    select
        phone_raw,
        country_code,
        {{ normalize_phone('phone_raw', 'country_code') }} as phone_e164
    from new_spellings

)

select * from normalised
