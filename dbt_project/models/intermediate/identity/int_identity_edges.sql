{#- Every observed link between two identifiers of the same person, with its
    evidence: which source saw it, how often, and when first. A phone number
    is never a link: shared and recycled numbers would merge strangers. -#}

with

valid_emails as (

    select email from {{ ref('int_email_addresses') }}
    where is_email_valid

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}
    where not is_deleted and email in (select valid_emails.email from valid_emails)

),

accounts as (

    select * from {{ ref('stg_shop__customers') }}
    where email in (select valid_emails.email from valid_emails)

),

guest_orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_guest_checkout and email in (select valid_emails.email from valid_emails)

),

web_events as (

    select * from {{ ref('stg_web__events') }}
    where anonymous_id is not null and occurred_at < {{ as_of_end() }}

),

observations as (

    select
        'crm_contact:' || cast(contact_id as string) as left_key,
        'email:' || email as right_key,
        'crm_contact_email' as link_source,
        created_at as seen_at
    from contacts

    union all

    select
        'shop_customer:' || cast(customer_id as string) as left_key,
        'email:' || email as right_key,
        'shop_account_email' as link_source,
        created_at as seen_at
    from accounts

    union all

    select
        'guest_order:' || cast(order_id as string) as left_key,
        'email:' || email as right_key,
        'guest_checkout_email' as link_source,
        ordered_at as seen_at
    from guest_orders

    union all

    select
        'anonymous_id:' || anonymous_id as left_key,
        'shop_customer:' || user_id as right_key,
        'web_logged_in_event' as link_source,
        occurred_at as seen_at
    from web_events
    where user_id is not null

    union all

    select
        'anonymous_id:' || anonymous_id as left_key,
        'email:' || traits_email as right_key,
        'web_identify_call' as link_source,
        occurred_at as seen_at
    from web_events
    where event_type = 'identify' and traits_email in (select valid_emails.email from valid_emails)

),

edges as (

    select
        left_key,
        right_key,
        link_source,
        count(*) as observations,
        min(seen_at) as first_seen_at
    from observations
    group by left_key, right_key, link_source

)

select * from edges
