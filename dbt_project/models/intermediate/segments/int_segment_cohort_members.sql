{#- The members the holdout lift compares (audience.measure.lift): for each
    attribution window, the latest run whose window has ended; of its
    members, the contactable ones, in the audience (exported) or in the
    holdout group, with their A/B group and what they did in the window.
    Grain: segment, window_days, customer_id. -#}

with

outcomes as (

    select * from {{ ref('int_customer_run_outcomes') }}
    where is_mature

),

latest as (

    select
        window_days,
        max(as_of) as as_of
    from outcomes
    group by window_days

),

memberships as (

    select * from {{ ref('int_segment_membership_snapshots') }}
    where is_contactable

),

final as (

    select
        memberships.segment,
        latest.window_days,
        latest.as_of,
        memberships.customer_id,
        case when memberships.is_holdout then 'holdout' else 'audience' end as test_group,
        memberships.ab_group,
        outcomes.orders > 0 as converted,
        outcomes.revenue_eur
    from latest
    inner join memberships
        on latest.as_of = memberships.as_of
    inner join outcomes
        on
            latest.as_of = outcomes.as_of
            and latest.window_days = outcomes.window_days
            and memberships.customer_id = outcomes.customer_id

)

select * from final
