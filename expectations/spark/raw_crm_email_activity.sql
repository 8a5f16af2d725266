select * except (email, logical_date), masked(email) as email
from raw.crm_email_activity where _logical_date = session.as_of
