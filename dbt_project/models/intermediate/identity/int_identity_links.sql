{#- The links identity resolution may use: the observed edges less those
    through a blocklisted identifier or an identifier that joins more records
    than the cap allows. What the guards stop is in
    int_identity_link_rejections, not dropped silently. -#}

with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

rejections as (

    select * from {{ ref('int_identity_link_rejections') }}

),

links as (

    select
        edges.left_key,
        edges.right_key,
        edges.link_source,
        edges.observations,
        edges.first_seen_at
    from edges
    left outer join rejections
        on
            edges.left_key = rejections.left_key
            and edges.right_key = rejections.right_key
            and edges.link_source = rejections.link_source
    where rejections.left_key is null

)

select * from links
