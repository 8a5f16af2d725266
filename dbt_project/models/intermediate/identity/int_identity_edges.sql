{#- Every observed link between two identifiers of the same person, with its
    evidence: which source saw it, how often, and when first. A CRM contact
    links to every address it has had (people change address; their old
    records stay theirs). An address typed wrong in a way that says what was
    meant (int_email_corrections) links to the address meant. The variable
    `identity_extra_links` turns these two off (address_history,
    address_corrections). A phone number is never a link: shared and
    recycled numbers would merge strangers. -#}

{%- set with_history = 'address_history' in var('identity_extra_links') %}

with

corrections as (

    select * from {{ ref('int_email_corrections') }}
    {% if 'address_corrections' not in var('identity_extra_links') -%}
        where 1 = 0
    {%- endif %}

),

linkable_emails as (

    select email from {{ ref('int_email_addresses') }}
    where is_email_valid

    union

    select email from corrections

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}
    where not is_deleted

),

contact_emails as (

    select
        contact_emails.contact_id,
        contact_emails.email,
        contact_emails.first_seen_at
    from {{ ref('stg_crm__contact_emails') }} as contact_emails
    inner join contacts
        on contact_emails.contact_id = contacts.contact_id
    where
        contact_emails.email in (select linkable_emails.email from linkable_emails)
        and ({{ with_history }} or contact_emails.email = contacts.email)

),

accounts as (

    select * from {{ ref('stg_shop__customers') }}
    where email in (select linkable_emails.email from linkable_emails)

),

guest_orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_guest_checkout and email in (select linkable_emails.email from linkable_emails)

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
        first_seen_at as seen_at
    from contact_emails

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
    where
        event_type = 'identify'
        and traits_email in (select linkable_emails.email from linkable_emails)

),

typed_emails as (

    select
        right_key as email_key,
        min(seen_at) as seen_at
    from observations
    where right_key like 'email:%'
    group by right_key

),

with_corrections as (

    select * from observations

    union all

    select
        typed_emails.email_key as left_key,
        'email:' || corrections.corrected_email as right_key,
        corrections.correction as link_source,
        typed_emails.seen_at
    from typed_emails
    inner join corrections
        on typed_emails.email_key = 'email:' || corrections.email

),

edges as (

    select
        left_key,
        right_key,
        link_source,
        count(*) as observations,
        min(seen_at) as first_seen_at
    from with_corrections
    group by left_key, right_key, link_source

)

select * from edges
