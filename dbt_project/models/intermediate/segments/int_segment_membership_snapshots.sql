{#- One snapshot of segment_memberships per nightly run, kept across runs:
    the history of who was in which segment. A run replaces its own date's
    rows (re-runs and backfills are idempotent) and leaves the others alone.
    full_refresh is off: the past runs' memberships cannot be rebuilt from
    today's sources (the shop database holds only current state). On Spark
    each night is a partition, and a run overwrites its own. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
    unique_key='as_of',
    partition_by=['as_of'] if target.type == 'spark' else none,
    full_refresh=false
) }}

select
    as_of,
    customer_id,
    segment,
    is_primary
from {{ ref('segment_memberships') }}
