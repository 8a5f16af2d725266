{#- The overlap matrix of the active segments as of the logical date: for
    each ordered pair, how many customers are in both (the diagonal is the
    segment's size) and what share of the first segment that is. -#}

with

segments as (

    select segment from {{ ref('dim_segments') }}
    where status = 'active'

),

memberships as (

    select
        customer_id,
        segment
    from {{ ref('segment_memberships') }}

),

sizes as (

    select
        segment,
        count(*) as customers
    from memberships
    group by segment

),

shared as (

    select
        memberships.segment,
        other_memberships.segment as other_segment,
        count(*) as shared_customers
    from memberships
    inner join memberships as other_memberships
        on memberships.customer_id = other_memberships.customer_id
    group by memberships.segment, other_memberships.segment

),

final as (

    select
        segments.segment,
        other_segments.segment as other_segment,
        coalesce(sizes.customers, 0) as segment_customers,
        coalesce(shared.shared_customers, 0) as shared_customers,
        case
            when sizes.customers > 0
                then cast(coalesce(shared.shared_customers, 0) as double) / sizes.customers
        end as share_of_segment,
        cast({{ as_of_date() }} as date) as as_of
    from segments
    cross join segments as other_segments
    left outer join sizes
        on segments.segment = sizes.segment
    left outer join shared
        on
            segments.segment = shared.segment
            and other_segments.segment = shared.other_segment

)

select * from final
