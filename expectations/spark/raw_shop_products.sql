select * except (logical_date) from raw.shop_products where _logical_date = session.as_of
