select customer_id, masked(email) as email, has_valid_email, is_opted_in, is_suppressed,
       is_test_account, is_contactable, profile_completeness, as_of
from marts.dim_customers
