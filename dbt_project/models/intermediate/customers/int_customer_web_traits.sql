{#- Browsing traits per customer as of the logical date, from the web events
    attributed to customers (int_customer_web_events). A session ends after 30 minutes
    without an event; only sessions that start in the last 30 days are
    counted, so only the events of those days and the 30 minutes before are
    sessionised (an event's predecessor, if it is more than 30 minutes older,
    starts a session whether it is known or not). "Checkout starts without an
    order" are checkout starts with no completed order by the same customer in
    the 48 hours after. Incremental by customer (macros/incremental_traits.sql):
    a night re-derives the customers whose events, devices or windows changed,
    from the last 30 days and the nights loaded since, carrying the last
    product viewed, the last cart addition and the last visit from their row;
    a customer whose devices changed is re-derived from the whole history.
    Their events are picked from the staged events by the customers'
    identifiers and only then attributed (macro attribute_web_events). -#}

{{ config(
    materialized=audiences.materialized_incremental(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    post_hook="{{ audiences.delete_retracted_customers() }}",
) }}

-- depends_on: {{ ref('int_customer_id_assignments') }}
-- depends_on: {{ ref('customer_identities') }}
-- depends_on: {{ ref('stg_web__events') }}
-- depends_on: {{ ref('int_currency_rates') }}

{%- set since = audiences.traits_since() %}
{#- The windows: 30 and 7 days, and the 30 minutes before 30 days that sessions look at. -#}
{%- set windows_minutes = [30 * 24 * 60, 30 * 24 * 60 + 30, 7 * 24 * 60] %}
{%- set window_start = dbt.dateadd('minute', -(windows_minutes | max), as_of_end()) %}

with

{% if since is none %}

    customer_events as (

        select * from {{ ref('int_customer_web_events') }}

    ),

    customers as (

        select distinct customer_id from customer_events

    ),

{% else %}

    rederived as (

        {{ audiences.customers_rederived(since, ['anonymous_id', 'shop_customer']) }}

    ),

    customers as (

        {{ audiences.customers_to_refresh(since, ref('int_customer_web_events'), windows_minutes) }}

    ),

    carried as (

        select * from {{ this }}
        where
            customer_id in (select customers.customer_id from customers)
            and customer_id not in (select rederived.customer_id from rederived)

    ),

    {#- The events of the customers re-derived are found among the staged events
        by their identifiers, and only those are attributed: a filter on the
        customer_id of every attributed event would attribute them all. -#}
    customer_keys as (

        select
            identifier_type,
            identifier_value,
            customer_id in (select rederived.customer_id from rederived) as is_rederived
        from {{ ref('customer_identities') }}
        where
            identifier_type in ('anonymous_id', 'shop_customer')
            and customer_id in (select customers.customer_id from customers)

    ),

    {#- Whole histories for the customers re-derived; for the others, the
        windows and the nights loaded since, the rest being carried. -#}
    staged_events as (

        select * from {{ ref('stg_web__events') }}
        where
            occurred_at < {{ as_of_end() }}
            and (
                anonymous_id in (
                    select customer_keys.identifier_value from customer_keys
                    where customer_keys.identifier_type = 'anonymous_id' and customer_keys.is_rederived
                )
                or user_id in (
                    select customer_keys.identifier_value from customer_keys
                    where customer_keys.identifier_type = 'shop_customer' and customer_keys.is_rederived
                )
                or (
                    (
                        occurred_at >= {{ window_start }}
                        or load_date >= {{ since }}
                    )
                    and (
                        anonymous_id in (
                            select customer_keys.identifier_value from customer_keys
                            where customer_keys.identifier_type = 'anonymous_id'
                        )
                        or user_id in (
                            select customer_keys.identifier_value from customer_keys
                            where customer_keys.identifier_type = 'shop_customer'
                        )
                    )
                )
            )

    ),

    {#- The same, attributed: an event of a customer's device can be someone
        else's, by its userId. -#}
    customer_events as (

        select * from ({{ audiences.attribute_web_events('staged_events') }}) as attributed
        where
            customer_id in (select rederived.customer_id from rederived)
            or (
                customer_id in (select customers.customer_id from customers)
                and (
                    occurred_at >= {{ window_start }}
                    or load_date >= {{ since }}
                )
            )

    ),

{% endif %}

gaps as (

    select
        customer_id,
        occurred_at,
        lag(occurred_at) over (partition by customer_id order by occurred_at) as previous_at
    from customer_events
    where occurred_at >= {{ dbt.dateadd('minute', -30, dbt.dateadd('day', -30, as_of_end())) }}

),

session_starts as (

    select
        customer_id,
        occurred_at as session_started_at
    from gaps
    where
        previous_at is null
        or occurred_at > {{ dbt.dateadd('minute', 30, 'previous_at') }}

),

sessions as (

    select
        customer_id,
        count(*) filter (
            where session_started_at >= {{ dbt.dateadd('day', -7, as_of_end()) }}
        ) as sessions_7d,
        count(*) filter (
            where session_started_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
        ) as sessions_30d
    from session_starts
    group by customer_id

),

checkouts as (

    select
        customer_id,
        occurred_at
    from customer_events
    where event_name = 'checkout_started'

),

orders as (

    select
        customer_id,
        occurred_at
    from customer_events
    where event_name = 'order_completed'

),

abandoned_checkouts as (

    select
        checkouts.customer_id,
        count(*) as checkout_starts_without_order_30d
    from checkouts
    where
        checkouts.occurred_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
        and not exists (
            select 1 from orders
            where
                orders.customer_id = checkouts.customer_id
                and orders.occurred_at >= checkouts.occurred_at
                and orders.occurred_at <= {{ dbt.dateadd('hour', 48, 'checkouts.occurred_at') }}
        )
    group by checkouts.customer_id

),

activity as (

    select
        customer_id,
        count(*) filter (
            where event_name = 'product_viewed'
            and occurred_at >= {{ dbt.dateadd('day', -7, as_of_end()) }}
        ) as product_views_7d,
        count(*) filter (
            where event_name = 'product_viewed'
            and occurred_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
        ) as product_views_30d,
        count(*) filter (
            where event_name = 'product_added'
            and occurred_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
        ) as cart_additions_30d,
        max(occurred_at) filter (where event_name = 'product_added') as last_cart_added_at,
        max(occurred_at) as last_seen_at,
        max(load_date) as last_load_date
    from customer_events
    group by customer_id

),

category_views as (

    select
        customer_id,
        product_category,
        row_number() over (
            partition by customer_id order by count(*) desc, product_category
        ) as category_rank
    from customer_events
    where
        event_name = 'product_viewed'
        and product_category is not null
        and occurred_at >= {{ dbt.dateadd('day', -30, as_of_end()) }}
    group by customer_id, product_category

),

last_views as (

    select
        customer_id,
        product_id,
        occurred_at,
        row_number() over (
            partition by customer_id order by occurred_at desc, product_id asc
        ) as view_rank
    from (
        select
            customer_id,
            product_id,
            occurred_at
        from customer_events
        where event_name = 'product_viewed'
        {%- if since is not none %}

            union all

            select
                customer_id,
                last_product_viewed_id as product_id,
                last_product_viewed_at as occurred_at
            from carried
            where last_product_viewed_at is not null
        {%- endif %}
    ) as product_views

),

traits as (

    select
        customers.customer_id,
        coalesce(sessions.sessions_7d, 0) as sessions_7d,
        coalesce(sessions.sessions_30d, 0) as sessions_30d,
        coalesce(activity.product_views_7d, 0) as product_views_7d,
        coalesce(activity.product_views_30d, 0) as product_views_30d,
        coalesce(activity.cart_additions_30d, 0) as cart_additions_30d,
        coalesce(abandoned_checkouts.checkout_starts_without_order_30d, 0)
            as checkout_starts_without_order_30d,
        category_views.product_category as top_category_viewed_30d,
        last_views.product_id as last_product_viewed_id,
        last_views.occurred_at as last_product_viewed_at,
        {{ audiences.carried_latest(since, 'activity', 'last_cart_added_at') }}
            as last_cart_added_at,
        {{ audiences.carried_latest(since, 'activity', 'last_seen_at') }} as last_seen_at,
        {{ audiences.carried_latest(since, 'activity', 'last_load_date') }} as last_load_date
    from customers
    left outer join activity
        on customers.customer_id = activity.customer_id
    left outer join sessions
        on customers.customer_id = sessions.customer_id
    left outer join abandoned_checkouts
        on customers.customer_id = abandoned_checkouts.customer_id
    left outer join category_views
        on
            customers.customer_id = category_views.customer_id
            and category_views.category_rank = 1
    left outer join last_views
        on
            customers.customer_id = last_views.customer_id
            and last_views.view_rank = 1
    {%- if since is not none %}
        left outer join carried
            on customers.customer_id = carried.customer_id
    {%- endif %}

)

select * from traits
