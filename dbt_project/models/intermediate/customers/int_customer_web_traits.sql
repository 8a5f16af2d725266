{#- Browsing traits per customer as of the logical date, from the web events
    attributed to customers (int_customer_web_events). A session ends after 30 minutes
    without an event; only sessions that start in the last 30 days are
    counted, so only the events of those days and the 30 minutes before are
    sessionised (an event's predecessor, if it is more than 30 minutes older,
    starts a session whether it is known or not). "Checkout starts without an
    order" are checkout starts with no completed order by the same customer in
    the 48 hours after. -#}

with

customer_events as (

    select * from {{ ref('int_customer_web_events') }}

),

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
        max(occurred_at) as last_seen_at
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
    from customer_events
    where event_name = 'product_viewed'

),

traits as (

    select
        activity.customer_id,
        coalesce(sessions.sessions_7d, 0) as sessions_7d,
        coalesce(sessions.sessions_30d, 0) as sessions_30d,
        activity.product_views_7d,
        activity.product_views_30d,
        activity.cart_additions_30d,
        coalesce(abandoned_checkouts.checkout_starts_without_order_30d, 0)
            as checkout_starts_without_order_30d,
        category_views.product_category as top_category_viewed_30d,
        last_views.product_id as last_product_viewed_id,
        last_views.occurred_at as last_product_viewed_at,
        activity.last_cart_added_at,
        activity.last_seen_at
    from activity
    left outer join sessions
        on activity.customer_id = sessions.customer_id
    left outer join abandoned_checkouts
        on activity.customer_id = abandoned_checkouts.customer_id
    left outer join category_views
        on
            activity.customer_id = category_views.customer_id
            and category_views.category_rank = 1
    left outer join last_views
        on
            activity.customer_id = last_views.customer_id
            and last_views.view_rank = 1

)

select * from traits
