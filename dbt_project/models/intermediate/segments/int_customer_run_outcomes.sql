{#- What each segment member did after each recent run, within each
    attribution window (var segment_attribution_windows: days after the
    run's logical date, the run's own day excluded): completed orders and
    their net revenue, the marketing emails sent and delivered to them and
    what they did with them, and whether a later run put them in the
    churned segment. Runs of the last var segment_kpi_days days count.

    A window is mature once it has ended by the logical date; until then
    its outcomes are null (what is known so far is not yet a rate). An open
    within two minutes of the email's delivery is a machine open (a mail
    client fetching the message, as Apple Mail Privacy Protection does, not
    a person reading it) and does not count. Customers are the ids of that
    run: a later merge leaves the orders of the merged id to the new one.
    Grain: as_of, customer_id, window_days. -#}

{%- set windows = var('segment_attribution_windows') %}

with

snapshots as (

    select * from {{ ref('int_segment_membership_snapshots') }}
    where
        as_of <= {{ as_of_date() }}
        and as_of > {{ dbt.dateadd('day', -var('segment_kpi_days'), as_of_date()) }}

),

windows as (

    {% for days in windows %}
        select cast({{ days }} as integer) as window_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

cohorts as (

    select
        members.as_of,
        members.customer_id,
        windows.window_days,
        cast({{ dbt.dateadd('day', 'windows.window_days', 'members.as_of') }} as date) as window_end
    from (
        select distinct
            as_of,
            customer_id
        from snapshots
    ) as members
    cross join windows

),

orders as (

    select
        customer_id,
        order_id,
        cast(ordered_at as date) as ordered_on,
        net_revenue_eur
    from {{ ref('fct_orders') }}
    where is_completed and ordered_at < {{ as_of_end() }}

),

order_outcomes as (

    select
        cohorts.as_of,
        cohorts.customer_id,
        cohorts.window_days,
        count(*) as orders,
        sum(orders.net_revenue_eur) as revenue_eur
    from cohorts
    inner join orders
        on
            cohorts.customer_id = orders.customer_id
            and cohorts.as_of < orders.ordered_on
            and cohorts.window_end >= orders.ordered_on
    group by cohorts.as_of, cohorts.customer_id, cohorts.window_days

),

identities as (

    select * from {{ ref('customer_identities') }}
    where identifier_type = 'crm_contact'

),

activities as (

    select
        identities.customer_id,
        activities.contact_id,
        activities.campaign_id,
        activities.event_type,
        activities.occurred_at,
        cast(activities.occurred_at as date) as occurred_on
    from {{ ref('stg_crm__email_activities') }} as activities
    inner join identities
        on identities.identifier_key = 'crm_contact:' || cast(activities.contact_id as string)
    where
        activities.campaign_type = 'marketing'
        and activities.occurred_at < {{ as_of_end() }}
        and activities.occurred_at
        >= {{ dbt.dateadd('day', -var('segment_kpi_days'), as_of_date()) }}

),

machine_opens as (

    select distinct
        opens.contact_id,
        opens.campaign_id,
        opens.occurred_at
    from activities as opens
    inner join activities as deliveries
        on
            opens.contact_id = deliveries.contact_id
            and opens.campaign_id = deliveries.campaign_id
            and deliveries.event_type = 'delivered'
            and opens.occurred_at >= deliveries.occurred_at
            and opens.occurred_at < {{ dbt.dateadd('second', 120, 'deliveries.occurred_at') }}
    where opens.event_type = 'open'

),

email_outcomes as (

    select
        cohorts.as_of,
        cohorts.customer_id,
        cohorts.window_days,
        count(case when activities.event_type = 'sent' then 1 end) as emails_sent,
        count(case when activities.event_type = 'delivered' then 1 end) as emails_delivered,
        count(
            case when activities.event_type = 'open' and machine_opens.contact_id is null then 1 end
        ) > 0 as opened,
        count(case when activities.event_type = 'click' then 1 end) > 0 as clicked,
        count(case when activities.event_type = 'unsubscribe' then 1 end) > 0 as unsubscribed,
        count(case when activities.event_type = 'spam_complaint' then 1 end) > 0 as complained
    from cohorts
    inner join activities
        on
            cohorts.customer_id = activities.customer_id
            and cohorts.as_of < activities.occurred_on
            and cohorts.window_end >= activities.occurred_on
    left outer join machine_opens
        on
            activities.contact_id = machine_opens.contact_id
            and activities.campaign_id = machine_opens.campaign_id
            and activities.occurred_at = machine_opens.occurred_at
            and activities.event_type = 'open'
    group by cohorts.as_of, cohorts.customer_id, cohorts.window_days

),

churn_outcomes as (

    select distinct
        cohorts.as_of,
        cohorts.customer_id,
        cohorts.window_days
    from cohorts
    inner join snapshots as later
        on
            cohorts.customer_id = later.customer_id
            and cohorts.as_of < later.as_of
            and cohorts.window_end >= later.as_of
            and later.segment = {{ sql_string(var('segment_churned')) }}

),

final as (

    select
        cohorts.as_of,
        cohorts.customer_id,
        cohorts.window_days,
        cohorts.window_end,
        cohorts.window_end <= {{ as_of_date() }} as is_mature,
        {%- for column, value in [
            ('orders', 'coalesce(order_outcomes.orders, 0)'),
            ('revenue_eur', 'coalesce(order_outcomes.revenue_eur, 0)'),
            ('emails_sent', 'coalesce(email_outcomes.emails_sent, 0)'),
            ('emails_delivered', 'coalesce(email_outcomes.emails_delivered, 0)'),
            ('opened', 'coalesce(email_outcomes.opened, false)'),
            ('clicked', 'coalesce(email_outcomes.clicked, false)'),
            ('unsubscribed', 'coalesce(email_outcomes.unsubscribed, false)'),
            ('complained', 'coalesce(email_outcomes.complained, false)'),
            ('churned', 'churn_outcomes.customer_id is not null'),
        ] %}
            case when cohorts.window_end <= {{ as_of_date() }} then {{ value }} end as {{ column }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from cohorts
    left outer join order_outcomes
        on
            cohorts.as_of = order_outcomes.as_of
            and cohorts.customer_id = order_outcomes.customer_id
            and cohorts.window_days = order_outcomes.window_days
    left outer join email_outcomes
        on
            cohorts.as_of = email_outcomes.as_of
            and cohorts.customer_id = email_outcomes.customer_id
            and cohorts.window_days = email_outcomes.window_days
    left outer join churn_outcomes
        on
            cohorts.as_of = churn_outcomes.as_of
            and cohorts.customer_id = churn_outcomes.customer_id
            and cohorts.window_days = churn_outcomes.window_days

)

select * from final
