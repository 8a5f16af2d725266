select identities.identifier_key, identities.identifier_type, identities.customer_id,
       count(distinct ends.neighbour_key) filter (
         where identities.identifier_type in ('email', 'anonymous_id')
           and split_part(ends.neighbour_key, ':', 1) in ('crm_contact', 'shop_customer', 'email')
       ) as records_linked
from marts.customer_identities as identities left join (
  select left_key as hub_key, right_key as neighbour_key from intermediate.int_identity_links
  union all
  select right_key, left_key from intermediate.int_identity_links
) as ends on ends.hub_key = identities.identifier_key
group by identities.identifier_key, identities.identifier_type, identities.customer_id
