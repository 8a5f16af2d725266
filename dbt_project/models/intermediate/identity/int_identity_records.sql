{#- The records that make a person (CRM contacts, shop accounts; guest orders
    carry only an address) with what else they tell about who they are: first
    and last name, phone number, city and postal code, and the address meant
    (a misspelt or obfuscated one corrected, int_email_corrections) with its
    local part, which survives a broken domain (felix.johnson190@gmail..com).
    Names and places are lower case, so that a comparison is of spelling only.
    match_phone is the phone number only where every record carrying it has
    one first name: a number re-assigned to someone new, or a family's
    landline, is no evidence that two records are one person.
    Read by int_identity_address_holders (the shared-address guard) and
    int_identity_match_pairs (probabilistic linkage). -#}

with

phones as (

    select * from {{ ref('int_phone_numbers') }}

),

corrections as (

    select * from {{ ref('int_email_corrections') }}

),

records as (

    select
        'crm_contact:' || cast(contact_id as string) as record_key,
        first_name,
        last_name,
        city,
        postal_code,
        email,
        phone_raw,
        country_code,
        created_at
    from {{ ref('stg_crm__contacts') }}
    where not is_deleted

    union all

    select
        'shop_customer:' || cast(customer_id as string) as record_key,
        first_name,
        last_name,
        null as city,
        null as postal_code,
        email,
        phone_raw,
        country_code,
        created_at
    from {{ ref('stg_shop__customers') }}

),

described as (

    select
        records.record_key,
        lower(records.first_name) as first_name,
        lower(records.last_name) as last_name,
        phones.phone_e164,
        lower(records.city) as city,
        records.postal_code,
        coalesce(corrections.corrected_email, records.email) as email_meant,
        nullif(
            split_part(coalesce(corrections.corrected_email, records.email), '@', 1), ''
        ) as email_local,
        records.created_at as first_seen_at
    from records
    left outer join phones
        on
            records.phone_raw = phones.phone_raw
            and records.country_code is not distinct from phones.country_code
    left outer join corrections
        on records.email = corrections.email

),

phone_holders as (

    select
        phone_e164,
        count(distinct first_name) as first_names
    from described
    group by phone_e164

),

final as (

    select
        described.*,
        case when phone_holders.first_names <= 1 then described.phone_e164 end as match_phone
    from described
    left outer join phone_holders
        on described.phone_e164 = phone_holders.phone_e164

)

select * from final
