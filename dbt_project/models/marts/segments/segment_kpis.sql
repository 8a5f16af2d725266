{#- Each segment's key figures for each recent run (a cohort: the run's
    members) and attribution window, from what its members did after the
    run (int_customer_run_outcomes). The audience is the contactable members
    outside the holdout group (those exported), the holdout the contactable
    members in it (those who would have been); the rates of the two are the
    ones the holdout lift compares. Rates are null until the window has
    ended. docs/segments.md defines each figure.
    Grain: segment, as_of, window_days. -#}

with

memberships as (

    select * from {{ ref('int_segment_membership_snapshots') }}

),

outcomes as (

    select * from {{ ref('int_customer_run_outcomes') }}

),

members as (

    select
        memberships.segment,
        outcomes.*,
        memberships.is_contactable and not memberships.is_holdout as is_audience,
        memberships.is_contactable and memberships.is_holdout as is_holdout,
        -- null until the window has ended, as the outcomes are
        case when outcomes.orders > 0 then 1 when outcomes.orders = 0 then 0 end as converted,
        case
            when outcomes.emails_delivered > 0 then 1 when outcomes.emails_delivered = 0 then 0
        end as delivered,
        case when outcomes.churned then 1 when not outcomes.churned then 0 end as churned_member
    from memberships
    inner join outcomes
        on
            memberships.as_of = outcomes.as_of
            and memberships.customer_id = outcomes.customer_id

),

final as (

    {#- Sums of integers and decimals, then one division: the same figure,
        to the last bit, on every engine (an average of doubles is not). -#}
    select
        segment,
        as_of,
        window_days,
        window_end,
        is_mature,
        count(*) as members,
        count(case when is_audience then 1 end) as audience_members,
        count(case when is_holdout then 1 end) as holdout_members,
        cast(sum(emails_sent) as bigint) as emails_sent,
        cast(sum(emails_delivered) as bigint) as emails_delivered,
        {{ ratio('sum(emails_delivered)', 'sum(emails_sent)') }} as delivery_rate,
        {{ ratio('count(case when opened then 1 end)', 'sum(delivered)') }} as open_rate,
        {{ ratio('count(case when clicked then 1 end)', 'sum(delivered)') }} as click_rate,
        {{ ratio('count(case when unsubscribed then 1 end)', 'sum(delivered)') }}
            as unsubscribe_rate,
        {{ ratio('count(case when complained then 1 end)', 'sum(delivered)') }}
            as complaint_rate,
        {{ ratio('sum(converted)', 'count(converted)') }} as conversion_rate,
        {{ ratio('sum(revenue_eur)', 'count(revenue_eur)') }} as revenue_per_member_eur,
        {{ ratio('sum(churned_member)', 'count(churned_member)') }} as churn_rate,
        {{ ratio('sum(case when is_audience then converted end)',
                 'count(case when is_audience then converted end)') }}
            as audience_conversion_rate,
        {{ ratio('sum(case when is_holdout then converted end)',
                 'count(case when is_holdout then converted end)') }}
            as holdout_conversion_rate,
        {{ ratio('sum(case when is_audience then revenue_eur end)',
                 'count(case when is_audience then revenue_eur end)') }}
            as audience_revenue_per_member_eur,
        {{ ratio('sum(case when is_holdout then revenue_eur end)',
                 'count(case when is_holdout then revenue_eur end)') }}
            as holdout_revenue_per_member_eur
    from members
    group by segment, as_of, window_days, window_end, is_mature

)

select * from final
