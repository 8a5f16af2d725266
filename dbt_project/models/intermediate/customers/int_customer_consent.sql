{#- Current email consent per customer, derived from the consent ledger: the
    latest opt-in/opt-out/unsubscribe decides whether they are opted in; a
    spam complaint, a hard bounce or an erasure suppresses them for good. -#}

with

ledger as (

    select * from {{ ref('consent_ledger') }}
    where customer_id is not null

),

choices as (

    select
        customer_id,
        consent_event,
        occurred_at,
        row_number() over (
            partition by customer_id
            order by occurred_at desc, consent_event = 'opt_in'
        ) as recency_rank
    from ledger
    where consent_event in ('opt_in', 'opt_out', 'unsubscribe')

),

latest_choices as (

    select * from choices
    where recency_rank = 1

),

suppressions as (

    select
        customer_id,
        max(occurred_at) as suppressed_at,
        min(consent_event) as suppression_reason
    from ledger
    where consent_event in ('spam_complaint', 'hard_bounce', 'erasure')
    group by customer_id

),

consent as (

    select
        coalesce(choices.customer_id, suppressions.customer_id) as customer_id,
        coalesce(choices.consent_event = 'opt_in', false) as is_opted_in,
        suppressions.customer_id is not null as is_suppressed,
        suppressions.suppression_reason,
        case when choices.consent_event = 'opt_in' then choices.occurred_at end as opted_in_at,
        case when choices.consent_event <> 'opt_in' then choices.occurred_at end as opted_out_at,
        suppressions.suppressed_at
    from latest_choices as choices
    full outer join suppressions
        on choices.customer_id = suppressions.customer_id

)

select * from consent
