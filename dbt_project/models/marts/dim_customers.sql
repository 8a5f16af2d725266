{#- One row per resolved person (customer_id from customer_identities): the
    golden record chosen by the survivorship rules, with each value's source,
    and their traits as of the logical date. -#}

{%- set attributes = ['email', 'first_name', 'last_name', 'phone_e164', 'country_code', 'city',
                      'postal_code', 'birth_date'] -%}

with

identities as (

    select * from {{ ref('customer_identities') }}

),

candidates as (

    select * from {{ ref('int_customer_attribute_candidates') }}
    where survivorship_rank = 1

),

orders as (

    select * from {{ ref('int_customer_order_traits') }}

),

scores as (

    select * from {{ ref('int_customer_scores') }}

),

web as (

    select * from {{ ref('int_customer_web_traits') }}

),

email as (

    select * from {{ ref('int_customer_email_traits') }}

),

consent as (

    select * from {{ ref('int_customer_consent') }}

),

address_consent as (

    select * from {{ ref('int_email_consent') }}

),

people as (

    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        count(*) filter (where identifier_type = 'crm_contact') as crm_contact_count,
        count(*) filter (where identifier_type = 'shop_customer') as shop_account_count,
        count(*) filter (where identifier_type = 'guest_order') as guest_order_count,
        count(*) filter (where identifier_type = 'email') as email_address_count,
        count(*) filter (where identifier_type = 'anonymous_id') as device_count
    from identities
    group by customer_id

),

golden as (

    select
        customer_id,
        {% for attribute in attributes -%}
            max(case when attribute_name = '{{ attribute }}' then attribute_value end)
                as {{ attribute }},
            max(case when attribute_name = '{{ attribute }}' then source_system end)
                as {{ attribute }}_source
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    from candidates
    group by customer_id

),

profiles as (

    select
        -- ids
        people.customer_id,

        -- golden record
        golden.email,
        golden.first_name,
        golden.last_name,
        golden.phone_e164,
        golden.country_code,
        golden.city,
        golden.postal_code,
        cast(golden.birth_date as date) as birth_date,

        -- provenance
        {% for attribute in attributes -%}
            golden.{{ attribute }}_source,
        {% endfor -%}

        -- identity
        people.crm_contact_count,
        people.shop_account_count,
        people.guest_order_count,
        people.email_address_count,
        people.device_count,

        -- orders and RFM
        coalesce(orders.orders_placed, 0) as orders_placed,
        coalesce(orders.completed_orders, 0) as completed_orders,
        coalesce(orders.cancelled_orders, 0) as cancelled_orders,
        coalesce(orders.refunded_orders, 0) as refunded_orders,
        cast(coalesce(orders.net_revenue_eur, 0) as decimal(18, 2)) as net_revenue_eur,
        orders.average_order_value_eur,
        orders.days_since_last_order,
        orders.recency_score,
        orders.frequency_score,
        orders.monetary_score,
        orders.rfm_segment,

        -- web
        coalesce(web.sessions_7d, 0) as sessions_7d,
        coalesce(web.sessions_30d, 0) as sessions_30d,
        coalesce(web.product_views_7d, 0) as product_views_7d,
        coalesce(web.product_views_30d, 0) as product_views_30d,
        coalesce(web.cart_additions_30d, 0) as cart_additions_30d,
        coalesce(web.checkout_starts_without_order_30d, 0) as checkout_starts_without_order_30d,
        web.top_category_viewed_30d,
        web.last_product_viewed_id,

        -- email
        coalesce(email.emails_sent_30d, 0) as emails_sent_30d,
        coalesce(email.email_opens_30d, 0) as email_opens_30d,
        coalesce(email.email_clicks_30d, 0) as email_clicks_30d,
        coalesce(email.has_opened_last_3_marketing, false) as has_opened_last_3_marketing,
        email.preferred_send_hour,

        -- predictive scores (null where not used tonight)
        scores.purchase_propensity,
        scores.purchase_propensity_model,
        scores.churn_risk,
        scores.churn_risk_model,
        scores.persona,

        -- profile quality and consent
        cast((
            {% for attribute in attributes -%}
                case when golden.{{ attribute }} is null then 0 else 1 end
                {%- if not loop.last %} + {% endif %}
            {%- endfor %}
        ) as double) / {{ attributes | length }} as profile_completeness,
        golden.email is not null as has_valid_email,
        coalesce(
            golden.email like 'test+%'
            or split_part(golden.email, '@', 2) in ('example.com', 'test.com')
            or (golden.first_name = 'Test' and golden.last_name = 'User'),
            false
        ) as is_test_account,
        coalesce(consent.is_opted_in, false) as is_opted_in,
        -- The address speaks for everyone who uses it: another person's
        -- unsubscribe from a shared address suppresses it here too.
        coalesce(consent.is_suppressed or address_consent.is_restricted, false) as is_suppressed,
        coalesce(consent.suppression_reason, 'address_' || address_consent.restricted_by)
            as suppression_reason,

        -- dates and timestamps
        cast({{ as_of_date() }} as date) as as_of,
        people.first_seen_at,
        orders.first_order_at,
        orders.last_order_placed_at,
        orders.last_order_at,
        web.last_cart_added_at,
        web.last_product_viewed_at,
        web.last_seen_at as last_web_visit_at,
        email.last_email_opened_at,
        email.last_marketing_email_sent_at,
        consent.opted_in_at,
        consent.opted_out_at

    from people
    left outer join golden
        on people.customer_id = golden.customer_id
    left outer join orders
        on people.customer_id = orders.customer_id
    left outer join web
        on people.customer_id = web.customer_id
    left outer join email
        on people.customer_id = email.customer_id
    left outer join scores
        on people.customer_id = scores.customer_id
    left outer join consent
        on people.customer_id = consent.customer_id
    left outer join address_consent
        on golden.email = address_consent.email

),

final as (

    select
        *,
        has_valid_email and is_opted_in and not is_suppressed and not is_test_account
            as is_contactable
    from profiles

)

select * from final
