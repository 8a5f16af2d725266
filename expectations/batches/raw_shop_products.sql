select * from raw.shop_products where _logical_date = as_of()
