{#- identifier → customer_id. A person is a connected component that holds at
    least one record (CRM contact, shop account or guest order) and something
    to know them by: a guest order that nothing links to (no valid email, no
    account) is the shop's revenue (fct_orders) but nobody's profile. Their
    customer_id is derived from the component's *anchor*: its earliest-seen
    record. The id is therefore the same on every run and every rebuild, does
    not depend on the order rows arrive in, and when two people turn out to be
    one, the earlier one's id survives. A record joined by a probable match
    (int_identity_match_pairs) carries its strongest match's weight and
    evidence: which record, and each comparison's level and weight. -#}

with

components as (

    select * from {{ ref('int_identity_components') }}

),

links as (

    select * from {{ ref('int_identity_links') }}

),

people as (

    select component_key
    from components
    group by component_key
    having count(case when identifier_key not like 'guest_order:%' then 1 end) > 0

),

anchors as (

    select
        component_key,
        identifier_key as anchor_key,
        row_number() over (
            partition by component_key order by first_seen_at, identifier_key
        ) as anchor_rank
    from components
    where is_record and component_key in (select people.component_key from people)

),

link_ends as (

    {#- Each link once from each of its ends. #}
    select
        left_key as identifier_key,
        right_key as other_key,
        left_key,
        right_key,
        link_source,
        match_weight,
        first_seen_at
    from links

    union all

    select
        right_key as identifier_key,
        left_key as other_key,
        left_key,
        right_key,
        link_source,
        match_weight,
        first_seen_at
    from links

),

probable_matches as (

    {#- Each record's strongest probable match, the one link with a weight. -#}
    select
        link_ends.identifier_key,
        link_ends.match_weight,
        'probable match of ' || link_ends.other_key || ': ' || pairs.evidence as match_evidence,
        row_number() over (
            partition by link_ends.identifier_key
            order by link_ends.match_weight desc, link_ends.other_key asc
        ) as match_rank
    from link_ends
    inner join {{ ref('int_identity_match_pairs') }} as pairs
        on
            link_ends.left_key = pairs.left_key
            and link_ends.right_key = pairs.right_key
    where link_ends.link_source = 'probable_match'

),

link_evidence as (

    select
        identifier_key,
        count(*) as link_count,
        min(first_seen_at) as first_linked_at
    from link_ends
    group by identifier_key

),

identities as (

    select
        'cus_' || substr({{ dbt.hash('anchors.anchor_key') }}, 1, 16) as customer_id,
        components.identifier_key,
        components.identifier_type,
        components.identifier_value,
        components.first_seen_source,
        anchors.anchor_key,
        coalesce(link_evidence.link_count, 0) as link_count,
        components.is_record,
        components.identifier_key = anchors.anchor_key as is_anchor,
        components.first_seen_at,
        link_evidence.first_linked_at,
        round(probable_matches.match_weight, 2) as match_weight,
        probable_matches.match_evidence
    from components
    inner join anchors
        on
            components.component_key = anchors.component_key
            and anchors.anchor_rank = 1
    left outer join link_evidence
        on components.identifier_key = link_evidence.identifier_key
    left outer join probable_matches
        on
            components.identifier_key = probable_matches.identifier_key
            and probable_matches.match_rank = 1

)

select * from identities
