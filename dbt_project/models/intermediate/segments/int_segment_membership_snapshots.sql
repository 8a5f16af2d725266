{#- One snapshot of segment_memberships per nightly run, kept across runs:
    the history of who was in which segment. A run replaces its own date's
    rows (re-runs and backfills are idempotent) and leaves the others alone.
    full_refresh is off: the past runs' memberships cannot be rebuilt from
    today's sources (the shop database holds only current state). On Spark
    each night is a partition, and a run overwrites its own. The holdout and
    A/B groups and whether the customer could be emailed are kept as they
    were that night: what the holdout lift compares (segment_kpis). -#}

{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
    unique_key='as_of',
    partition_by=['as_of'] if target.type == 'spark' else none,
    full_refresh=false,
    on_schema_change='append_new_columns'
) }}

select
    memberships.as_of,
    memberships.customer_id,
    memberships.segment,
    memberships.is_primary,
    memberships.is_holdout,
    memberships.ab_group,
    coalesce(customers.is_contactable, false) as is_contactable
from {{ ref('segment_memberships') }} as memberships
left outer join {{ ref('dim_customers') }} as customers
    on memberships.customer_id = customers.customer_id
