{#- Purchase traits per customer as of the logical date, and RFM scores.
    A completed purchase is a paid or shipped order not refunded in full;
    revenue is net of refunds and returns, including those no order holds
    (fct_customer_adjustments: refunds on no order, and beyond an order's
    total), so it equals the ledger's sales minus credit notes. Recency has one definition, the
    last completed purchase (last_order_at, days_since_last_order): the R
    score and the segment rules (vip, at_risk, churned) all read it, never a
    cancellation or a credit note. R, F and M are quintiles (5 = best) over
    the customers with at least one completed purchase. -#}

with

orders as (

    select * from {{ ref('fct_orders') }}
    where customer_id is not null

),

adjustments as (

    select
        customer_id,
        sum(amount_eur) as adjusted_eur
    from {{ ref('fct_customer_adjustments') }}
    where customer_id is not null
    group by customer_id

),

per_order_customer as (

    select
        customer_id,
        count(*) as orders_placed,
        count(*) filter (where is_completed) as completed_orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where is_refunded) as refunded_orders,
        sum(net_revenue_eur) as order_revenue_eur,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_placed_at,
        max(ordered_at) filter (where is_completed) as last_order_at
    from orders
    group by customer_id

),

per_customer as (

    select
        coalesce(per_order_customer.customer_id, adjustments.customer_id) as customer_id,
        coalesce(per_order_customer.orders_placed, 0) as orders_placed,
        coalesce(per_order_customer.completed_orders, 0) as completed_orders,
        coalesce(per_order_customer.cancelled_orders, 0) as cancelled_orders,
        coalesce(per_order_customer.refunded_orders, 0) as refunded_orders,
        cast(
            coalesce(per_order_customer.order_revenue_eur, 0)
            - coalesce(adjustments.adjusted_eur, 0)
            as decimal(18, 2)
        ) as net_revenue_eur,
        per_order_customer.first_order_at,
        per_order_customer.last_order_placed_at,
        per_order_customer.last_order_at
    from per_order_customer
    full outer join adjustments
        on per_order_customer.customer_id = adjustments.customer_id

),

with_value as (

    select
        *,
        case
            when completed_orders > 0
                then {{ money_per('net_revenue_eur', 'completed_orders') }}
        end as average_order_value_eur,
        cast(
            {{ dbt.datediff('cast(last_order_at as date)', as_of_date(), 'day') }}
            as bigint
        ) as days_since_last_order
    from per_customer

),

scored as (

    select
        customer_id,
        {{ quintile_score('days_since_last_order desc') }} as recency_score,
        {{ quintile_score('completed_orders') }} as frequency_score,
        {{ quintile_score('net_revenue_eur') }} as monetary_score
    from with_value
    where completed_orders > 0

),

traits as (

    select
        with_value.*,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        {{ rfm_segment('scored.recency_score', 'scored.frequency_score', 'scored.monetary_score') }}
            as rfm_segment
    from with_value
    left outer join scored
        on with_value.customer_id = scored.customer_id

)

select * from traits
