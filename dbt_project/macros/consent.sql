{% macro consent_state(ledger, key) -%}
    {#- The current email consent per `key` (a customer, an address) from the
        consent ledger. A restriction (opt-out, unsubscribe, spam complaint,
        hard bounce) is lifted only by a newer explicit first-party opt-in
        (consent_sources.is_explicit); any other opt-in counts only when no
        restriction came before it, so an import, a list upload or a merge
        with an opted-in record never undoes an unsubscribe. On a tie the
        restriction wins. An erasure is for good. -#}
    with

    events as (

        select * from {{ ledger }}
        where {{ key }} is not null

    ),

    restrictions as (

        select
            {{ key }} as consent_key,
            consent_event,
            occurred_at,
            row_number() over (
                partition by {{ key }}
                order by occurred_at desc, consent_event
            ) as recency_rank
        from events
        where consent_event in ('opt_out', 'unsubscribe', 'spam_complaint', 'hard_bounce')

    ),

    summary as (

        select
            {{ key }} as consent_key,
            max(case when consent_event = 'opt_in' then occurred_at end) as last_opt_in_at,
            max(case when consent_event = 'opt_in' and is_explicit_opt_in then occurred_at end)
                as last_explicit_opt_in_at,
            max(case when consent_event = 'erasure' then occurred_at end) as erased_at
        from events
        group by {{ key }}

    ),

    decided as (

        select
            summary.consent_key,
            summary.erased_at,
            summary.last_opt_in_at,
            restrictions.consent_event as restriction,
            restrictions.occurred_at as restricted_at,
            restrictions.occurred_at is not null
            and coalesce(summary.last_explicit_opt_in_at <= restrictions.occurred_at, true)
                as is_restricted
        from summary
        left outer join restrictions
            on
                summary.consent_key = restrictions.consent_key
                and restrictions.recency_rank = 1

    ),

    consent as (

        select
            consent_key as {{ key }},
            erased_at is null and last_opt_in_at is not null and not is_restricted
                as is_opted_in,
            is_restricted,
            case when is_restricted then restriction end as restricted_by,
            erased_at is not null
            or (is_restricted and restriction in ('spam_complaint', 'hard_bounce'))
                as is_suppressed,
            case
                when erased_at is not null then 'erasure'
                when is_restricted and restriction in ('spam_complaint', 'hard_bounce')
                    then restriction
            end as suppression_reason,
            case when not is_restricted and erased_at is null then last_opt_in_at end
                as opted_in_at,
            case
                when is_restricted and restriction in ('opt_out', 'unsubscribe')
                    then restricted_at
            end as opted_out_at,
            case
                when erased_at is not null then erased_at
                when is_restricted and restriction in ('spam_complaint', 'hard_bounce')
                    then restricted_at
            end as suppressed_at
        from decided

    )

    select * from consent
{%- endmacro %}
