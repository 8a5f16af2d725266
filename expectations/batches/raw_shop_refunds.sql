select * from raw.shop_refunds where _logical_date = as_of()
