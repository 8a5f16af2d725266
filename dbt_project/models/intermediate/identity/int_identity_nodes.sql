{#- Every identifier that can belong to a person, with when and where it was
    first seen. Record identifiers (a CRM contact, a shop account, a guest
    order) make a person; emails and anonymous ids only connect records. -#}

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}
    where not is_deleted

),

accounts as (

    select * from {{ ref('stg_shop__customers') }}

),

guest_orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_guest_checkout

),

edges as (

    select * from {{ ref('int_identity_edges') }}

),

sightings as (

    select
        'crm_contact:' || cast(contact_id as string) as identifier_key,
        'crm' as source_system,
        created_at as seen_at
    from contacts

    union all

    select
        'shop_customer:' || cast(customer_id as string) as identifier_key,
        'shop' as source_system,
        created_at as seen_at
    from accounts

    union all

    select
        'guest_order:' || cast(order_id as string) as identifier_key,
        'shop' as source_system,
        ordered_at as seen_at
    from guest_orders

    union all

    select
        left_key as identifier_key,
        link_source as source_system,
        first_seen_at as seen_at
    from edges

    union all

    select
        right_key as identifier_key,
        link_source as source_system,
        first_seen_at as seen_at
    from edges

),

ranked as (

    select
        identifier_key,
        source_system,
        seen_at,
        row_number() over (
            partition by identifier_key order by seen_at, source_system
        ) as sighting_rank
    from sightings

),

nodes as (

    select
        identifier_key,
        split_part(identifier_key, ':', 1) as identifier_type,
        substr(identifier_key, length(split_part(identifier_key, ':', 1)) + 2)
            as identifier_value,
        split_part(identifier_key, ':', 1) in ('crm_contact', 'shop_customer', 'guest_order')
            as is_record,
        source_system as first_seen_source,
        seen_at as first_seen_at
    from ranked
    where sighting_rank = 1

)

select * from nodes
