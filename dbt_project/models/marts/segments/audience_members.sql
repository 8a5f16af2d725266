{#- The audiences the email marketers receive: for each active segment, its
    contactable members (dim_customers.is_contactable: valid email, opted
    in, not suppressed, not a test account) outside the segment's holdout
    group, with what an email needs to be personal and the customer's
    predictive scores. An address goes to a
    segment's audience once: when people share it, the first customer_id
    receives the email. -#}

with

memberships as (

    select * from {{ ref('segment_memberships') }}
    where not is_holdout

),

customers as (

    select * from {{ ref('dim_customers') }}
    where is_contactable

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

members as (

    select
        memberships.segment,
        memberships.customer_id,
        customers.email,
        {{ sha256_email('customers.email') }} as email_sha256,
        {{ sha256_email(google_email('customers.email')) }} as email_sha256_google,
        customers.first_name,
        customers.last_product_viewed_id,
        products.product_name as last_product_viewed_name,
        customers.top_category_viewed_30d as top_category,
        customers.preferred_send_hour,
        -- Four decimals: what an email tool's filter or a merge field needs.
        cast(customers.purchase_propensity as decimal(5, 4)) as purchase_propensity,
        cast(customers.churn_risk as decimal(5, 4)) as churn_risk,
        memberships.ab_group,
        memberships.is_primary,
        memberships.as_of,
        row_number() over (
            partition by memberships.segment, customers.email
            order by memberships.customer_id
        ) as address_rank
    from memberships
    inner join customers
        on memberships.customer_id = customers.customer_id
    left outer join products
        on customers.last_product_viewed_id = cast(products.product_id as string)

),

final as (

    select
        segment,
        customer_id,
        email,
        email_sha256,
        email_sha256_google,
        first_name,
        last_product_viewed_id,
        last_product_viewed_name,
        top_category,
        preferred_send_hour,
        purchase_propensity,
        churn_risk,
        ab_group,
        is_primary,
        as_of
    from members
    where address_rank = 1

)

select * from final
