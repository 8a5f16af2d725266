{#- No audience may hold a person who is not contactable (not opted in,
    suppressed, without a valid email, or a test account). -#}

select
    audiences.segment,
    audiences.customer_id
from {{ ref('audience_members') }} as audiences
left outer join {{ ref('dim_customers') }} as customers
    on audiences.customer_id = customers.customer_id
where not coalesce(customers.is_contactable, false)
