{#- Each identifier with the connected component it belongs to, over any number
    of hops of the guarded links. An identifier with no link is its own
    component. -#}

with

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

links as (

    select * from {{ ref('int_identity_links') }}

),

components as (

    {{ connected_components('links') }}

),

labelled as (

    select
        nodes.*,
        coalesce(components.component_key, nodes.identifier_key) as component_key
    from nodes
    left join components
        on nodes.identifier_key = components.node_key

)

select * from labelled
