{% macro attribute_web_events(events) -%}
    {#- The web events of `events` (a relation or CTE shaped like
        stg_web__events) that belong to a resolved customer, with the
        customer_id and prices in EUR: through the userId (a shop account) or,
        failing that, the anonymousId (a device an identify call or a login
        tied to them). int_customer_web_events is this over every event; a
        model that needs the events of a few identifiers filters the staged
        events first and attributes only those, since a filter on the
        customer_id cannot reach the scan through the joins. -#}
    select
        coalesce(by_user.customer_id, by_device.customer_id) as customer_id,
        events.event_id,
        events.anonymous_id,
        events.event_type,
        events.event_name,
        events.product_id,
        events.product_category,
        cast(events.product_price * coalesce(rates.rate_to_eur, 1) as decimal(18, 2))
            as product_price_eur,
        events.occurred_at,
        events.load_date
    from {{ events }} as events
    left outer join {{ ref('customer_identities') }} as by_user
        on by_user.identifier_key = 'shop_customer:' || events.user_id
    left outer join {{ ref('customer_identities') }} as by_device
        on by_device.identifier_key = 'anonymous_id:' || events.anonymous_id
    left outer join {{ ref('int_currency_rates') }} as rates
        on
            upper(events.currency) = rates.currency
            and cast(events.occurred_at as date) >= rates.valid_from
            and (rates.valid_to is null or cast(events.occurred_at as date) < rates.valid_to)
    where coalesce(by_user.customer_id, by_device.customer_id) is not null
{%- endmacro %}
