{#- Links the identity guards refused, with the reason: an identifier on the
    blocklist seed, or a connecting identifier (email, anonymous id) shared by
    more records than `identity_max_records_per_identifier` allows — a shared
    office inbox or a family computer must not merge different people. -#}

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

),

rejections as (

    select
        edges.left_key,
        edges.right_key,
        edges.link_source,
        edges.observations,
        edges.first_seen_at,
        min(guarded.identifier_key) as guarded_identifier_key,
        min(guarded.reason) as reason
    from edges
    inner join guarded
        on guarded.identifier_key in (edges.left_key, edges.right_key)
    group by
        edges.left_key,
        edges.right_key,
        edges.link_source,
        edges.observations,
        edges.first_seen_at

)

select * from rejections
