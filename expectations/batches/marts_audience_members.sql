select audiences.segment, audiences.customer_id,
       masked(audiences.email) as email,
       hashed(audiences.email) as email_hash,
       coalesce(customers.is_contactable, false) as is_contactable,
       coalesce(addresses.is_restricted, false) as is_address_restricted,
       coalesce(memberships.is_holdout, true) as is_holdout
from marts.audience_members as audiences
left join marts.dim_customers as customers using (customer_id)
left join intermediate.int_email_consent as addresses
  on addresses.email = lower(trim(audiences.email))
left join marts.segment_memberships as memberships
  on memberships.customer_id = audiences.customer_id
 and memberships.segment = audiences.segment
