select * except (email), masked(email) as email
from raw.crm_email_activity where _logical_date = as_of()
