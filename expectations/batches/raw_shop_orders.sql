select * except (email), masked(email) as email
from raw.shop_orders where _logical_date = as_of()
