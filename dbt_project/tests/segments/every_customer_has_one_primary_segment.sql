{#- Every customer has exactly one primary segment (new_customer is the
    fallback for anyone without a completed order; the RFM segments cover
    everyone with one). Returns the customers with none or several. -#}

select
    customers.customer_id,
    count(memberships.customer_id) as primary_segments
from {{ ref('dim_customers') }} as customers
left outer join {{ ref('segment_memberships') }} as memberships
    on
        customers.customer_id = memberships.customer_id
        and memberships.is_primary
group by customers.customer_id
having count(memberships.customer_id) != 1
