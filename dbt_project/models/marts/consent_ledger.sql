{#- Every consent event, one row each: opt-ins and opt-outs recorded by the
    CRM, unsubscribes, bounces and spam complaints from email activity, and
    erasures (deleted contacts). The current consent of a person and of an
    address is derived from this ledger (int_customer_consent,
    int_email_consent; macros/consent.sql). An opt-in is explicit when its
    source is (seed consent_sources). A bounce is hard when the address is
    not a valid one or has bounced before; only hard bounces suppress. -#}

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

activities as (

    select * from {{ ref('stg_crm__email_activities') }}
    where occurred_at < {{ as_of_end() }}

),

identities as (

    select * from {{ ref('customer_identities') }}

),

consent_sources as (

    select * from {{ ref('consent_sources') }}

),

crm_events as (

    select
        contact_id,
        email,
        'opt_in' as consent_event,
        coalesce(opt_in_source, 'crm') as event_detail,
        opted_in_at as occurred_at
    from contacts
    where opted_in_at is not null

    union all

    -- The CRM says opted in but not since when: the state is still consent.
    select
        contact_id,
        email,
        'opt_in' as consent_event,
        'crm_current_state' as event_detail,
        updated_at as occurred_at
    from contacts
    where is_email_opted_in and opted_in_at is null

    union all

    select
        contact_id,
        email,
        'opt_out' as consent_event,
        'crm' as event_detail,
        last_opted_out_at as occurred_at
    from contacts
    where last_opted_out_at is not null

    union all

    select
        contact_id,
        email,
        'erasure' as consent_event,
        'crm' as event_detail,
        updated_at as occurred_at
    from contacts
    where is_deleted

),

bounces as (

    select
        contact_id,
        email,
        campaign_id,
        occurred_at,
        row_number() over (
            partition by coalesce(email, cast(contact_id as string)) order by occurred_at
        ) as bounce_number
    from activities
    where event_type = 'bounce'

),

email_events as (

    select
        contact_id,
        email,
        event_type as consent_event,
        campaign_id as event_detail,
        occurred_at
    from activities
    where event_type in ('unsubscribe', 'spam_complaint')

    union all

    select
        contact_id,
        email,
        case
            when not {{ is_valid_email('email') }} or bounce_number > 1 then 'hard_bounce'
            else 'soft_bounce'
        end as consent_event,
        campaign_id as event_detail,
        occurred_at
    from bounces

),

events as (

    select
        *,
        'crm' as source_system
    from crm_events
    union all
    select
        *,
        'email_activity' as source_system
    from email_events

),

ledger as (

    select
        {{ dbt.hash("cast(events.contact_id as string) || '|' || events.consent_event || '|'"
            ~ " || events.event_detail || '|' || " ~ audiences.timestamp_text('events.occurred_at')) }}
            as consent_event_id,
        coalesce(by_contact.customer_id, by_email.customer_id) as customer_id,
        events.contact_id,
        events.email,
        events.consent_event,
        events.event_detail,
        events.source_system,
        events.consent_event in (
            'opt_out', 'unsubscribe', 'spam_complaint', 'hard_bounce',
            'erasure'
        ) as is_restricting,
        events.consent_event = 'opt_in' and coalesce(consent_sources.is_explicit, false)
            as is_explicit_opt_in,
        events.occurred_at
    from events
    left outer join consent_sources
        on events.event_detail = consent_sources.opt_in_source
    left outer join identities as by_contact
        on by_contact.identifier_key = 'crm_contact:' || cast(events.contact_id as string)
    left outer join identities as by_email
        on by_email.identifier_key = 'email:' || events.email

)

select * from ledger
