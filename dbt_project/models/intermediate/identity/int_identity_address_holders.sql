{#- The records (CRM contacts, shop accounts) on each address, with the
    first name and phone number they carry, and whether the address is shared
    by people: its records carry more than one first name, unless every one
    of them with a name has the same phone number (one person who spells a
    name two ways). A record on a misspelt address (int_email_corrections)
    holds the address meant. A couple's address or an office inbox is learned from its
    own records, not only from the blocklist. int_identity_link_rejections
    refuses a shared address's links (guard shared_address);
    int_identity_links links its records of one name again. -#}

with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

record_addresses as (

    select * from edges
    where link_source in ('crm_contact_email', 'shop_account_email')

),

addresses_meant as (

    {#- A record on a misspelt address holds the address meant. -#}
    select
        left_key as typed_key,
        right_key as meant_key
    from edges
    where link_source in ('email_domain_typo', 'email_deobfuscated')

),

records as (

    select * from {{ ref('int_identity_records') }}

),

holders as (

    select
        coalesce(addresses_meant.meant_key, record_addresses.right_key) as email_key,
        record_addresses.left_key as record_key,
        records.first_name,
        records.phone_e164,
        min(record_addresses.first_seen_at) as first_seen_at
    from record_addresses
    inner join records
        on record_addresses.left_key = records.record_key
    left outer join addresses_meant
        on record_addresses.right_key = addresses_meant.typed_key
    group by
        coalesce(addresses_meant.meant_key, record_addresses.right_key),
        record_addresses.left_key,
        records.first_name,
        records.phone_e164

),

shared as (

    select
        email_key,
        'address shared by ' || cast(count(distinct first_name) as string)
        || ' first names with ' || cast(count(distinct phone_e164) as string)
        || ' phone numbers' as shared_reason
    from holders
    group by email_key
    having
        count(distinct first_name) > 1
        and (
            count(distinct phone_e164) != 1
            or count(case when first_name is not null and phone_e164 is null then 1 end) > 0
        )

),

final as (

    select
        holders.email_key,
        holders.record_key,
        holders.first_name,
        holders.phone_e164,
        holders.first_seen_at,
        shared.shared_reason
    from holders
    left outer join shared
        on holders.email_key = shared.email_key

)

select * from final
