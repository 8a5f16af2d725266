{#- Every customer's membership of every active segment as of the logical
    date. A customer's primary segment is their highest-priority one (the
    lowest meta.priority). Each membership is deterministically in the
    segment's holdout (control) group or not, and in A/B group A or B, from a
    hash of customer and segment: the same on every run.

    dbt learns dependencies from ref() at parse time, before the segments are
    listed, so every segment is named below (dbt's own way for a ref that is
    only known when the model runs); `audiences segment new` adds the line,
    and tests/unit/test_segment_dependencies.py checks the list. -#}

{%- set segments = segment_nodes() -%}

-- depends_on: {{ ref('at_risk') }}
-- depends_on: {{ ref('cart_abandoner') }}
-- depends_on: {{ ref('churn_risk') }}
-- depends_on: {{ ref('churned') }}
-- depends_on: {{ ref('high_propensity') }}
-- depends_on: {{ ref('high_purchase_intent') }}
-- depends_on: {{ ref('loyal_engaged') }}
-- depends_on: {{ ref('new_customer') }}
-- depends_on: {{ ref('re_engagement') }}
-- depends_on: {{ ref('rfm_about_to_sleep') }}
-- depends_on: {{ ref('rfm_at_risk') }}
-- depends_on: {{ ref('rfm_cannot_lose_them') }}
-- depends_on: {{ ref('rfm_champions') }}
-- depends_on: {{ ref('rfm_hibernating') }}
-- depends_on: {{ ref('rfm_lost') }}
-- depends_on: {{ ref('rfm_loyal_customers') }}
-- depends_on: {{ ref('rfm_need_attention') }}
-- depends_on: {{ ref('rfm_new_customers') }}
-- depends_on: {{ ref('rfm_potential_loyalists') }}
-- depends_on: {{ ref('rfm_promising') }}
-- depends_on: {{ ref('vip') }}

with

{% if segments %}
    members as (

        {% for node in segments %}
            select distinct
                customer_id,
                {{ sql_string(node.name) }} as segment,
                cast({{ node.config.meta.priority }} as integer) as priority,
                cast({{ segment_holdout_share(node) }} as double) as holdout_share
            from {{ segment_ref(node) }}
            {% if not loop.last %}union all{% endif %}
        {% endfor %}

    ),
{% else %}
    members as (

        select
            cast(null as string) as customer_id,
            cast(null as string) as segment,
            cast(null as integer) as priority,
            cast(null as double) as holdout_share
        where 1 = 0

    ),
{% endif %}

ranked as (

    select
        *,
        row_number() over (partition by customer_id order by priority, segment) as priority_rank,
        {{ stable_bucket("customer_id || ':' || segment || ':holdout'") }} as holdout_bucket,
        {{ stable_bucket("customer_id || ':' || segment || ':ab'", 2) }} as ab_bucket
    from members

),

final as (

    select
        customer_id,
        segment,
        priority,
        priority_rank = 1 as is_primary,
        holdout_bucket < holdout_share * 10000 as is_holdout,
        case when ab_bucket = 0 then 'A' else 'B' end as ab_group,
        cast({{ as_of_date() }} as date) as as_of
    from ranked

)

select * from final
