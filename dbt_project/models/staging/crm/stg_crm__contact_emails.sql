{#- Every address a CRM contact has had, as of the run's logical date: people
    change address, and the records they left under the old one (a shop
    account, guest orders) are still theirs. The raw table keeps every
    exported version (macros/current_versions.sql). -#}

with

versions as (

    select
        contact_id,
        {{ normalize_email('email') }} as email,
        updated_at
    from {{ source('crm', 'crm_contacts') }}
    where
        _logical_date <= {{ audiences.as_of_date() }}
        and updated_at < {{ audiences.as_of_end() }}

),

addresses as (

    select
        contact_id,
        email,
        min(updated_at) as first_seen_at,
        max(updated_at) as last_seen_at
    from versions
    where email is not null
    group by contact_id, email

)

select * from addresses
