select message_id, type, event, anonymous_id, user_id, timestamp, received_at,
       _source_file, _logical_date
from raw.web_events where _logical_date = as_of()
