{#- Every email address (normalised) the CRM's contacts have had, the shop's
    accounts and orders and the web's identify calls (staged), with
    email-validator's verdict, computed once. The library runs in Python
    (tens of microseconds an address), so validating every record on every
    build would cost seconds per hundred thousand records; the models that
    need the verdict join this lookup instead. Incremental: a build adds the
    addresses it has not seen before. The verdict depends on nothing but the
    address, so the lookup holds for any logical date. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

with

addresses as (

    select email from {{ ref('stg_crm__contact_emails') }}

    union

    select email from {{ ref('stg_shop__customers') }}

    union

    select email from {{ ref('stg_shop__orders') }}

    union

    select traits_email as email from {{ ref('stg_web__events') }}
    where event_type = 'identify'

),

new_addresses as (

    select email from addresses
    where email is not null
    {% if is_incremental() -%}
        and email not in (select known.email from {{ this }} as known)
    {%- endif %}

),

validated as (

    select
        email,
        {{ audiences.email_invalid_reason('email') }} as email_invalid_reason
    from new_addresses

),

final as (

    select
        email,
        email_invalid_reason,
        email_invalid_reason is null as is_email_valid
    from validated

)

select * from final
