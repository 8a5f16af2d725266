{#- Every value a source holds for a golden-record attribute of a customer,
    one row per (customer, attribute, source record), ranked by the rules of
    the survivorship_rules seed: source priority, then the most recently
    updated record, then the most complete record (most attributes filled).
    Incremental by customer (macros/incremental_traits.sql): a night re-ranks
    the candidates of the customers with a source record delivered since the
    last build or stamped after it, or an identifier that moved, from every
    record they hold; the others keep their rows. -#}

{{ config(
    materialized=audiences.materialized_incremental(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    post_hook="{{ audiences.delete_retracted_customers() }}",
) }}

-- depends_on: {{ ref('int_customer_id_assignments') }}

{% set since = audiences.traits_since() -%}

{%- set crm_attributes = ['email', 'first_name', 'last_name', 'phone_e164', 'country_code',
                          'city', 'postal_code', 'birth_date'] -%}
{%- set shop_attributes = ['email', 'first_name', 'last_name', 'phone_e164', 'country_code'] -%}

with

all_identities as (

    select * from {{ ref('customer_identities') }}

),

all_contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

contacts as (

    select * from all_contacts
    where not is_deleted

),

accounts as (

    select * from {{ ref('stg_shop__customers') }}

),

valid_emails as (

    select email from {{ ref('int_email_addresses') }}
    where is_email_valid

),

phone_numbers as (

    select * from {{ ref('int_phone_numbers') }}

),

guest_orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_guest_checkout and email in (select valid_emails.email from valid_emails)

),

web_identifies as (

    select
        anonymous_id,
        traits_email,
        max(occurred_at) as occurred_at,
        max(load_date) as last_load_date
    from {{ ref('stg_web__events') }}
    where
        event_type = 'identify'
        and traits_email in (select valid_emails.email from valid_emails)
        and occurred_at < {{ as_of_end() }}
    group by anonymous_id, traits_email

),

rules as (

    select * from {{ ref('survivorship_rules') }}

),

{% if since is none %}

    identities as (

        select * from all_identities

    ),

{% else %}

    rederived as (

        {{ audiences.customers_rederived(
            since, ['crm_contact', 'shop_customer', 'guest_order', 'anonymous_id']
        ) }}

    ),

    {#- A deleted contact's version counts too: it takes the contact's values away. -#}
    changed_records as (

        select 'crm_contact:' || cast(contact_id as string) as identifier_key
        from all_contacts
        where load_date >= {{ since }} or updated_at >= {{ since }}

        union all

        select 'shop_customer:' || cast(customer_id as string) as identifier_key
        from accounts
        where load_date >= {{ since }} or updated_at >= {{ since }}

        union all

        select 'guest_order:' || cast(order_id as string) as identifier_key
        from guest_orders
        where load_date >= {{ since }} or updated_at >= {{ since }}

        union all

        select 'anonymous_id:' || anonymous_id as identifier_key
        from web_identifies
        where last_load_date >= {{ since }} or occurred_at >= {{ since }}

    ),

    customers as (

        select all_identities.customer_id
        from changed_records
        inner join all_identities
            on changed_records.identifier_key = all_identities.identifier_key

        union

        select rederived.customer_id from rederived

    ),

    identities as (

        select * from all_identities
        where customer_id in (select customers.customer_id from customers)

    ),

{% endif %}

crm_records as (

    select
        identities.customer_id,
        'crm' as source_system,
        'crm_contact:' || cast(contacts.contact_id as string) as record_key,
        contacts.updated_at,
        valid_emails.email,
        contacts.first_name,
        contacts.last_name,
        phone_numbers.phone_e164,
        contacts.country_code,
        contacts.city,
        contacts.postal_code,
        cast(contacts.birth_date as string) as birth_date,
        contacts.load_date
    from contacts
    inner join identities
        on identities.identifier_key = 'crm_contact:' || cast(contacts.contact_id as string)
    left outer join valid_emails
        on contacts.email = valid_emails.email
    left outer join phone_numbers
        on
            contacts.phone_raw = phone_numbers.phone_raw
            and contacts.country_code is not distinct from phone_numbers.country_code

),

shop_records as (

    select
        identities.customer_id,
        'shop' as source_system,
        'shop_customer:' || cast(accounts.customer_id as string) as record_key,
        accounts.updated_at,
        valid_emails.email,
        accounts.first_name,
        accounts.last_name,
        phone_numbers.phone_e164,
        accounts.country_code,
        accounts.load_date
    from accounts
    inner join identities
        on identities.identifier_key = 'shop_customer:' || cast(accounts.customer_id as string)
    left outer join valid_emails
        on accounts.email = valid_emails.email
    left outer join phone_numbers
        on
            accounts.phone_raw = phone_numbers.phone_raw
            and accounts.country_code is not distinct from phone_numbers.country_code

),

candidates as (

    {% for records, attributes in [('crm_records', crm_attributes),
                                   ('shop_records', shop_attributes)] -%}
        {% for attribute in attributes -%}
            select
                customer_id,
                '{{ attribute }}' as attribute_name,
                cast({{ attribute }} as string) as attribute_value,
                source_system,
                record_key,
                updated_at,
                {% for other in attributes -%}
                    case when {{ other }} is null then 0 else 1 end
                    {%- if not loop.last %} + {% endif %}
                {%- endfor %} as record_completeness,
                load_date as last_load_date
            from {{ records }}
            where {{ attribute }} is not null
            union all
        {% endfor -%}
    {% endfor -%}

    select
        identities.customer_id,
        'email' as attribute_name,
        guest_orders.email as attribute_value,
        'guest_checkout' as source_system,
        'guest_order:' || cast(guest_orders.order_id as string) as record_key,
        guest_orders.updated_at,
        1 as record_completeness,
        guest_orders.load_date as last_load_date
    from guest_orders
    inner join identities
        on identities.identifier_key = 'guest_order:' || cast(guest_orders.order_id as string)

    union all

    select
        identities.customer_id,
        'email' as attribute_name,
        web_identifies.traits_email as attribute_value,
        'web' as source_system,
        'anonymous_id:' || web_identifies.anonymous_id as record_key,
        web_identifies.occurred_at as updated_at,
        1 as record_completeness,
        web_identifies.last_load_date
    from web_identifies
    inner join identities
        on identities.identifier_key = 'anonymous_id:' || web_identifies.anonymous_id

),

ranked as (

    select
        candidates.*,
        coalesce(rules.priority, 99) as source_priority,
        row_number() over (
            partition by candidates.customer_id, candidates.attribute_name
            order by
                coalesce(rules.priority, 99),
                candidates.updated_at desc,
                candidates.record_completeness desc,
                candidates.record_key asc
        ) as survivorship_rank
    from candidates
    left outer join rules
        on
            candidates.attribute_name = rules.attribute_name
            and candidates.source_system = rules.source_system

)

select * from ranked
{%- if since is not none %}

    union all

    {#- A customer re-derived with no candidate left: a row the post-hook removes. #}
    select
        customers.customer_id,
        null as attribute_name,
        null as attribute_value,
        null as source_system,
        null as record_key,
        null as updated_at,
        null as record_completeness,
        null as last_load_date,
        null as source_priority,
        null as survivorship_rank
    from customers
    where customers.customer_id not in (select candidates.customer_id from candidates)
{%- endif %}
