{#- The links identity resolution may use: the observed edges less those
    through a blocklisted identifier or an identifier a guard refused (what
    the guards stop is in int_identity_link_rejections, not dropped
    silently); and, on an address refused only for being shared by people,
    the records of one first name linked to each other again (no two phone
    numbers among them): a couple's address still holds each partner's
    contact and account together; and the probable matches of records that
    share no address (int_identity_match_pairs), each with its match weight,
    the one kind of link that has one. -#}

with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

rejections as (

    select * from {{ ref('int_identity_link_rejections') }}

),

kept as (

    select
        edges.left_key,
        edges.right_key,
        edges.link_source,
        edges.observations,
        edges.first_seen_at,
        cast(null as double) as match_weight
    from edges
    left outer join rejections
        on
            edges.left_key = rejections.left_key
            and edges.right_key = rejections.right_key
            and edges.link_source = rejections.link_source
    where rejections.left_key is null

),

{% if 'shared_address' in var('identity_guards') %}

    holders as (

        select * from {{ ref('int_identity_address_holders') }}

    ),

    shared_holders as (

        {#- Only addresses refused for being shared: a blocklisted placeholder
            or an address over the cap is no evidence at all, not even with a
            name. -#}
        select * from holders
        where
            shared_reason is not null
            and first_name is not null
            and email_key not in (
                select blocked.identifier_type || ':' || lower(trim(blocked.identifier_value))
                from {{ ref('blocked_identifiers') }} as blocked
            )
            and email_key in (
                select within_cap.email_key
                from holders as within_cap
                group by within_cap.email_key
                having count(*) <= {{ var('identity_max_records_per_identifier') }}
            )

    ),

    names_on_shared_addresses as (

        {#- Each name on an address: its first record, if its records agree on the phone. -#}
        select
            email_key,
            first_name,
            min(record_key) as first_record_key
        from shared_holders
        group by email_key, first_name
        having count(distinct phone_e164) <= 1

    ),

    same_name as (

        select
            shared_holders.record_key as left_key,
            names_on_shared_addresses.first_record_key as right_key,
            'same_name_on_shared_address' as link_source,
            count(*) as observations,
            min(shared_holders.first_seen_at) as first_seen_at,
            cast(null as double) as match_weight
        from shared_holders
        inner join names_on_shared_addresses
            on
                shared_holders.email_key = names_on_shared_addresses.email_key
                and shared_holders.first_name = names_on_shared_addresses.first_name
        where shared_holders.record_key != names_on_shared_addresses.first_record_key
        group by shared_holders.record_key, names_on_shared_addresses.first_record_key

    ),

{% else %}

    same_name as (

        select * from kept
        where 1 = 0

    ),

{% endif %}

{% if 'probable_matches' in var('identity_extra_links') %}

    probable as (

        select
            left_key,
            right_key,
            'probable_match' as link_source,
            cast(1 as bigint) as observations,
            first_seen_at,
            match_weight
        from {{ ref('int_identity_match_pairs') }}

    ),

{% else %}

    probable as (

        select * from kept
        where 1 = 0

    ),

{% endif %}

links as (

    select * from kept

    union all

    select * from same_name

    union all

    select * from probable

)

select * from links
