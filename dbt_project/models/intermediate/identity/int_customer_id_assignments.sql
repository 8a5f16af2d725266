{#- The log of which customer_id each identifier had, written only when it
    changes: one row the first time an identifier is seen, one row each time a
    merge or a split moves it to another customer_id, and one row (customer_id
    null) when it is gone (an erasure, a deleted record, a link the guards now
    refuse). The incremental trait models read it to find the customers whose
    identifiers changed since they were built (macros/incremental_traits.sql).
    Kept across nightly runs (incremental); re-running a date first deletes
    that date's rows (on Spark: overwrites that date's partition). -#}

{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite' if target.type == 'spark' else 'append',
    partition_by=['assigned_as_of'] if target.type == 'spark' else none,
    pre_hook="{% if is_incremental() and target.type != 'spark' %}delete from {{ this }}"
        ~ " where assigned_as_of = {{ audiences.as_of_date() }}{% endif %}",
) }}

with

identities as (

    select
        identifier_key,
        identifier_type,
        customer_id
    from {{ ref('customer_identities') }}

),

{% if is_incremental() %}

logged as (

    select
        identifier_key,
        identifier_type,
        customer_id,
        row_number() over (
            partition by identifier_key order by assigned_as_of desc
        ) as assignment_rank
    from {{ this }}
    where assigned_as_of < {{ as_of_date() }}

),

previous as (

    select
        identifier_key,
        identifier_type,
        customer_id
    from logged
    where assignment_rank = 1 and customer_id is not null

),

{% else %}

    previous as (

        select
            cast(null as string) as identifier_key,
            cast(null as string) as identifier_type,
            cast(null as string) as customer_id
        where 1 = 0

    ),

{% endif %}

surviving_ids as (

    select distinct customer_id from identities

),

assignments as (

    select
        coalesce(identities.identifier_key, previous.identifier_key) as identifier_key,
        coalesce(identities.identifier_type, previous.identifier_type) as identifier_type,
        identities.customer_id,
        previous.customer_id as previous_customer_id,
        case
            when identities.customer_id is null then 'removed'
            when previous.customer_id is null then 'new'
            when surviving_ids.customer_id is null then 'merge'
            else 'split'
        end as change_type,
        cast({{ as_of_date() }} as date) as assigned_as_of
    from identities
    full outer join previous
        on identities.identifier_key = previous.identifier_key
    left outer join surviving_ids
        on previous.customer_id = surviving_ids.customer_id
    where previous.customer_id is distinct from identities.customer_id

)

select * from assignments
