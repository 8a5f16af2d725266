select * from raw.shop_order_items where _logical_date = as_of()
