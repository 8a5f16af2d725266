{#- Each identifier with the connected component it belongs to, over any number
    of hops of the guarded links. An identifier with no link is its own
    component.

    Incremental: a night re-solves only the components it can have changed.
    Each row keeps a digest of the identifier's links (how many, and the XOR
    of their other ends' hashes); an identifier whose digest or first
    sighting differs from its row, or that is new, has changed, and every
    identifier of a component that held a changed one is re-solved, with the
    links between them. Those links never leave that set: a link that is new
    or gone changes the digests of both its ends, and an old link joins two
    identifiers of one old component. So a merge takes in both components, a
    split (a link removed by a guard or an erasure) re-solves the component
    it cut, and every other identifier keeps its row; a gone identifier's row
    is deleted after the build. What results equals a full refresh
    (tests/dbt/test_incremental_nights.py). -#}

{{ config(
    materialized=audiences.materialized_incremental(),
    incremental_strategy='delete+insert',
    unique_key='identifier_key',
    on_schema_change='fail',
    post_hook="{{ audiences.delete_gone_identifiers() }}",
) }}

with

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

links as (

    select * from {{ ref('int_identity_links') }}

),

link_ends as (

    select
        left_key as identifier_key,
        right_key as other_key
    from links

    union all

    select
        right_key as identifier_key,
        left_key as other_key
    from links

),

digests as (

    select
        identifier_key,
        count(*) as link_count,
        {{ audiences.set_digest('other_key') }} as link_digest
    from link_ends
    group by identifier_key

),

described as (

    select
        nodes.*,
        coalesce(digests.link_count, 0) as link_count,
        coalesce(digests.link_digest, 0) as link_digest
    from nodes
    left outer join digests
        on nodes.identifier_key = digests.identifier_key

),

{% if is_incremental() %}

    changed as (

        select described.identifier_key
        from described
        left outer join {{ this }} as previous
            on described.identifier_key = previous.identifier_key
        where
            previous.identifier_key is null
            or previous.link_count != described.link_count
            or previous.link_digest != described.link_digest
            or previous.first_seen_at is distinct from described.first_seen_at
            or previous.first_seen_source is distinct from described.first_seen_source

    ),

    {#- The changed identifiers and every identifier of their old components. -#}
    scope as (

        select identifier_key from changed

        union

        select identifier_key from {{ this }}
        where component_key in (
            select previous.component_key
            from {{ this }} as previous
            inner join changed
                on previous.identifier_key = changed.identifier_key
        )

    ),

    scoped_nodes as (

        select * from described
        where identifier_key in (select scope.identifier_key from scope)

    ),

    scoped_links as (

        select * from links
        where left_key in (select scope.identifier_key from scope)

    ),

{% else %}

    scoped_nodes as (

        select * from described

    ),

    scoped_links as (

        select * from links

    ),

{% endif %}

components as (

    {{ connected_components('scoped_links') }}

),

labelled as (

    select
        scoped_nodes.*,
        coalesce(components.component_key, scoped_nodes.identifier_key) as component_key
    from scoped_nodes
    left outer join components
        on scoped_nodes.identifier_key = components.node_key

)

select * from labelled
