select * except (logical_date) from raw.shop_order_items where _logical_date = session.as_of
