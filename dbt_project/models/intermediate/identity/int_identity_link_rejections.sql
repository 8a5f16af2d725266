{#- Links the identity guards refused, with the reason. A connecting
    identifier loses all its links when it is
    - on the blocklist seed;
    - an email or anonymous id shared by more records than
      `identity_max_records_per_identifier` allows;
    - an address shared by people, learned from the names and phone numbers
      of its records (int_identity_address_holders): a couple's address, an
      office inbox (guard shared_address);
    - a shared device: logged into, or identified on, by more than one
      person, that is more than one address (an account counts as its
      address, a misspelt address as the one meant; guard shared_device).
    The variable `identity_guards` lists the guards in use beyond the
    blocklist and the cap.
    A family computer or a shared inbox must not merge different people. -#}

with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

blocked as (

    select
        identifier_type || ':' || lower(trim(identifier_value)) as identifier_key,
        reason
    from {{ ref('blocked_identifiers') }}

),

both_directions as (

    select
        left_key as hub_key,
        right_key as neighbour_key
    from edges
    union all
    select
        right_key as hub_key,
        left_key as neighbour_key
    from edges

),

hub_fan_out as (

    select
        hub_key,
        count(distinct neighbour_key) as linked_records
    from both_directions
    where
        split_part(hub_key, ':', 1) in ('email', 'anonymous_id')
        and split_part(neighbour_key, ':', 1) in ('crm_contact', 'shop_customer', 'email')
    group by hub_key

),

shared_addresses as (

    select distinct
        email_key as hub_key,
        shared_reason as reason
    from {{ ref('int_identity_address_holders') }}
    where shared_reason is not null

),

account_addresses as (

    select
        left_key as account_key,
        right_key as email_key
    from edges
    where link_source = 'shop_account_email'

),

addresses_meant as (

    select
        left_key as email_key,
        right_key as meant_key
    from edges
    where link_source in ('email_domain_typo', 'email_deobfuscated')

),

device_users as (

    select
        devices.left_key as hub_key,
        coalesce(addresses_meant.meant_key, account_addresses.email_key, devices.right_key)
            as user_key
    from edges as devices
    left outer join account_addresses
        on devices.right_key = account_addresses.account_key
    left outer join addresses_meant
        on coalesce(account_addresses.email_key, devices.right_key) = addresses_meant.email_key
    where devices.link_source in ('web_logged_in_event', 'web_identify_call')

),

shared_devices as (

    select
        hub_key,
        'device used by ' || cast(count(distinct user_key) as string) || ' people' as reason
    from device_users
    group by hub_key
    having count(distinct user_key) > 1

),

over_cap as (

    select
        hub_key,
        'identifier links ' || cast(linked_records as string) || ' records (cap '
        || '{{ var("identity_max_records_per_identifier") }})' as reason
    from hub_fan_out
    where linked_records > {{ var('identity_max_records_per_identifier') }}

),

guarded as (

    select
        identifier_key,
        'blocklisted: ' || reason as reason
    from blocked

    union all

    select
        hub_key as identifier_key,
        reason
    from over_cap

    {% if 'shared_address' in var('identity_guards') %}

        union all

        select
            hub_key as identifier_key,
            reason
        from shared_addresses

    {% endif %}
    {% if 'shared_device' in var('identity_guards') %}

        union all

        select
            hub_key as identifier_key,
            reason
        from shared_devices

    {% endif %}

),

guarded_ends as (

    {#- Two equality joins, not one on "either end": a join on an OR of
        columns is a nested loop, minutes at a million customers. -#}
    select
        edges.left_key,
        edges.right_key,
        edges.link_source,
        edges.observations,
        edges.first_seen_at,
        guarded.identifier_key as guarded_identifier_key,
        guarded.reason
    from edges
    inner join guarded
        on edges.left_key = guarded.identifier_key

    union all

    select
        edges.left_key,
        edges.right_key,
        edges.link_source,
        edges.observations,
        edges.first_seen_at,
        guarded.identifier_key as guarded_identifier_key,
        guarded.reason
    from edges
    inner join guarded
        on edges.right_key = guarded.identifier_key

),

ranked as (

    {#- One row per refused link: the first guarded end, with its reason. -#}
    select
        *,
        row_number() over (
            partition by left_key, right_key, link_source
            order by guarded_identifier_key, reason
        ) as guard_rank
    from guarded_ends

),

rejections as (

    select
        left_key,
        right_key,
        link_source,
        observations,
        first_seen_at,
        guarded_identifier_key,
        reason
    from ranked
    where guard_rank = 1

)

select * from rejections
