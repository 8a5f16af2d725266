select * except (logical_date) from raw.shop_refunds where _logical_date = session.as_of
