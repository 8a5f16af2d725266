select
  * except (email, phone, first_name, last_name),
  masked(email) as email, masked(phone) as phone,
  masked(first_name) as first_name, masked(last_name) as last_name
from raw.shop_customers where _logical_date = as_of()
