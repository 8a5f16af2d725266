{#- Every phone number spelling in the CRM's contacts and the shop's
    accounts (staged), with the region its record's country gives, normalised
    to E.164 once. libphonenumber runs in Python (tens of microseconds a
    number), so normalising every record on every build cost a minute and a
    half at a million customers; the models that need a number join this
    lookup instead.
    Incremental: a build adds the spellings it has not seen before. The
    normalisation depends on nothing but the spelling and the region, so the
    lookup holds for any logical date and needs no lookback. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

with

spellings as (

    select
        phone_raw,
        country_code
    from {{ ref('stg_crm__contacts') }}
    where phone_raw is not null

    union

    select
        phone_raw,
        country_code
    from {{ ref('stg_shop__customers') }}
    where phone_raw is not null

),

new_spellings as (

    select * from spellings
    {% if is_incremental() -%}
        where not exists (
            select 1 from {{ this }} as known
            where
                known.phone_raw = spellings.phone_raw
                and known.country_code is not distinct from spellings.country_code
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
