{#- What each customer had done by the end of each cut-off date, and what
    they did after it: the training, validation and scoring rows of the
    predictive scores (audiences.predict, docs/segments.md).

    Cut-offs (macro prediction_cutoffs): the logical date itself (the rows
    scored tonight) and, for each score's horizon h, the dates h and
    h + var prediction_step_days before it (validated and trained on; the
    latter only with var prediction_training_cutoffs, which the nightly run
    sets when a score is due to be trained). A
    feature reads only what happened up to the end of its cut-off date:
    orders as placed (amounts at placement, not a status that changed
    later), web events and email activity. A label (label_*) counts
    completed orders in the h days after the cut-off and is null until those
    days have passed. Customers are the ids of tonight's identity map,
    present from the first time one of their identifiers was seen. Web and
    email activity come as day counts per identifier
    (int_web_activity_days, int_email_activity_days, incremental by day),
    attributed to customers here: a night counts only the days its events
    touched.
    Grain: cutoff_date, customer_id. -#}

{%- set cutoffs = prediction_cutoffs() %}
{%- set horizons = [var('purchase_propensity_horizon_days'), var('churn_risk_horizon_days')] %}
{%- set lookback = cutoffs | max + 90 %}

with

cutoffs as (

    {% for days in cutoffs %}
        select cast({{ dbt.dateadd('day', -days, as_of_date()) }} as date) as cutoff_date
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

customers as (

    select
        customer_id,
        cast(min(first_seen_at) as date) as first_seen_on
    from {{ ref('customer_identities') }}
    group by customer_id

),

population as (

    select
        cutoffs.cutoff_date,
        customers.customer_id,
        cast(
            {{ dbt.datediff('customers.first_seen_on', 'cutoffs.cutoff_date', 'day') }}
            as integer
        ) as tenure_days
    from customers
    inner join cutoffs
        on customers.first_seen_on <= cutoffs.cutoff_date

),

order_days as (

    select
        customer_id,
        cast(ordered_at as date) as activity_on,
        count(*) as orders,
        count(case when is_completed then 1 end) as completed_orders,
        sum(total_eur) as order_value_eur
    from {{ ref('fct_orders') }}
    where customer_id is not null and ordered_at < {{ as_of_end() }}
    group by customer_id, cast(ordered_at as date)

),

web_days as (

    select
        coalesce(by_user.customer_id, by_device.customer_id) as customer_id,
        activity.activity_on,
        sum(activity.web_events) as web_events,
        sum(activity.product_views) as product_views,
        sum(activity.cart_adds) as cart_adds,
        sum(activity.checkout_starts) as checkout_starts
    from {{ ref('int_web_activity_days') }} as activity
    left outer join {{ ref('customer_identities') }} as by_user
        on by_user.identifier_key = 'shop_customer:' || activity.user_id
    left outer join {{ ref('customer_identities') }} as by_device
        on by_device.identifier_key = 'anonymous_id:' || activity.anonymous_id
    where
        activity.activity_on <= {{ as_of_date() }}
        and activity.activity_on >= {{ dbt.dateadd('day', -lookback, as_of_date()) }}
        and coalesce(by_user.customer_id, by_device.customer_id) is not null
    group by coalesce(by_user.customer_id, by_device.customer_id), activity.activity_on

),

email_days as (

    select
        identities.customer_id,
        activity.activity_on,
        sum(activity.emails_delivered) as emails_delivered,
        sum(activity.email_opens) as email_opens,
        sum(activity.email_clicks) as email_clicks
    from {{ ref('int_email_activity_days') }} as activity
    inner join {{ ref('customer_identities') }} as identities
        on identities.identifier_key = 'crm_contact:' || cast(activity.contact_id as string)
    where
        activity.activity_on <= {{ as_of_date() }}
        and activity.activity_on >= {{ dbt.dateadd('day', -lookback, as_of_date()) }}
    group by identities.customer_id, activity.activity_on

),

order_history as (

    select
        population.cutoff_date,
        population.customer_id,
        order_days.orders,
        order_days.completed_orders,
        order_days.order_value_eur,
        cast(
            {{ dbt.datediff('order_days.activity_on', 'population.cutoff_date', 'day') }}
            as integer
        ) as days_before
    from population
    inner join order_days
        on
            population.customer_id = order_days.customer_id
            and population.cutoff_date >= order_days.activity_on

),

order_features as (

    select
        cutoff_date,
        customer_id,
        count(*) as order_days,
        sum(orders) as orders,
        sum(case when days_before < 90 then orders else 0 end) as orders_90d,
        sum(case when days_before < 30 then orders else 0 end) as orders_30d,
        sum(order_value_eur) as order_value_eur,
        min(days_before) as days_since_last_order
    from order_history
    group by cutoff_date, customer_id

),

web_history as (

    select
        population.cutoff_date,
        population.customer_id,
        web_days.web_events,
        web_days.product_views,
        web_days.cart_adds,
        web_days.checkout_starts,
        cast(
            {{ dbt.datediff('web_days.activity_on', 'population.cutoff_date', 'day') }}
            as integer
        ) as days_before
    from population
    inner join web_days
        on
            population.customer_id = web_days.customer_id
            and population.cutoff_date >= web_days.activity_on
            and {{ dbt.dateadd('day', -90, 'population.cutoff_date') }} < web_days.activity_on

),

web_features as (

    select
        cutoff_date,
        customer_id,
        sum(web_events) as web_events_90d,
        sum(case when days_before < 30 then web_events else 0 end) as web_events_30d,
        count(case when days_before < 30 then 1 end) as web_active_days_30d,
        sum(case when days_before < 30 then product_views else 0 end) as product_views_30d,
        sum(case when days_before < 30 then cart_adds else 0 end) as cart_adds_30d,
        sum(case when days_before < 30 then checkout_starts else 0 end) as checkout_starts_30d,
        min(days_before) as days_since_last_web_visit
    from web_history
    group by cutoff_date, customer_id

),

email_history as (

    select
        population.cutoff_date,
        population.customer_id,
        email_days.emails_delivered,
        email_days.email_opens,
        email_days.email_clicks,
        cast(
            {{ dbt.datediff('email_days.activity_on', 'population.cutoff_date', 'day') }}
            as integer
        ) as days_before
    from population
    inner join email_days
        on
            population.customer_id = email_days.customer_id
            and population.cutoff_date >= email_days.activity_on
            and {{ dbt.dateadd('day', -90, 'population.cutoff_date') }} < email_days.activity_on

),

email_features as (

    select
        cutoff_date,
        customer_id,
        sum(emails_delivered) as emails_delivered_90d,
        sum(email_opens) as email_opens_90d,
        sum(email_clicks) as email_clicks_90d,
        sum(case when days_before < 30 then email_clicks else 0 end) as email_clicks_30d
    from email_history
    group by cutoff_date, customer_id

),

outcomes as (

    select
        population.cutoff_date,
        population.customer_id,
        cast(
            {{ dbt.datediff('population.cutoff_date', 'order_days.activity_on', 'day') }}
            as integer
        ) as days_after,
        order_days.completed_orders
    from population
    inner join order_days
        on
            population.customer_id = order_days.customer_id
            and population.cutoff_date < order_days.activity_on

),

labels as (

    select
        cutoff_date,
        customer_id,
        {%- for days in horizons | unique %}
            sum(case when days_after <= {{ days }} then completed_orders else 0 end)
                as next_{{ days }}d{% if not loop.last %},{% endif %}
        {%- endfor %}
    from outcomes
    group by cutoff_date, customer_id

),

final as (

    select
        population.cutoff_date,
        population.customer_id,
        cast(population.tenure_days as integer) as tenure_days,
        cast(coalesce(order_features.orders, 0) as integer) as orders,
        cast(coalesce(order_features.order_days, 0) as integer) as order_days,
        cast(coalesce(order_features.orders_90d, 0) as integer) as orders_90d,
        cast(coalesce(order_features.orders_30d, 0) as integer) as orders_30d,
        cast(coalesce(order_features.order_value_eur, 0) as decimal(18, 2)) as order_value_eur,
        cast(order_features.days_since_last_order as integer) as days_since_last_order,
        cast(coalesce(web_features.web_events_90d, 0) as integer) as web_events_90d,
        cast(coalesce(web_features.web_events_30d, 0) as integer) as web_events_30d,
        cast(coalesce(web_features.web_active_days_30d, 0) as integer) as web_active_days_30d,
        cast(coalesce(web_features.product_views_30d, 0) as integer) as product_views_30d,
        cast(coalesce(web_features.cart_adds_30d, 0) as integer) as cart_adds_30d,
        cast(coalesce(web_features.checkout_starts_30d, 0) as integer) as checkout_starts_30d,
        cast(web_features.days_since_last_web_visit as integer) as days_since_last_web_visit,
        cast(coalesce(email_features.emails_delivered_90d, 0) as integer) as emails_delivered_90d,
        cast(coalesce(email_features.email_opens_90d, 0) as integer) as email_opens_90d,
        cast(coalesce(email_features.email_clicks_90d, 0) as integer) as email_clicks_90d,
        cast(coalesce(email_features.email_clicks_30d, 0) as integer) as email_clicks_30d,
        {%- for days in horizons | unique %}
            case
                when {{ dbt.dateadd('day', days, 'population.cutoff_date') }} <= {{ as_of_date() }}
                    then cast(coalesce(labels.next_{{ days }}d, 0) as integer)
            end as label_completed_orders_next_{{ days }}d
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from population
    left outer join order_features
        on
            population.cutoff_date = order_features.cutoff_date
            and population.customer_id = order_features.customer_id
    left outer join web_features
        on
            population.cutoff_date = web_features.cutoff_date
            and population.customer_id = web_features.customer_id
    left outer join email_features
        on
            population.cutoff_date = email_features.cutoff_date
            and population.customer_id = email_features.customer_id
    left outer join labels
        on
            population.cutoff_date = labels.cutoff_date
            and population.customer_id = labels.customer_id

)

select * from final
