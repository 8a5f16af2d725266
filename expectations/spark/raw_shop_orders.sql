select * except (email, logical_date), masked(email) as email
from raw.shop_orders where _logical_date = session.as_of
