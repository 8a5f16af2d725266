select segments.segment,
       count(memberships.customer_id) as members,
       count(memberships.customer_id) / (select count(*) from marts.dim_customers)
         as share_of_customers
from marts.dim_segments as segments
left join marts.segment_memberships as memberships using (segment)
where segments.status = 'active'
group by segments.segment
