select source || '.' || entity as entity, records_read, records_quarantined,
       records_quarantined / greatest(records_read, 1) as quarantined_share,
       case when records_quarantined >= quarantine_min_records()
            then records_quarantined / greatest(records_read, 1) else 0 end
           as held_share
from audit.extract_log where logical_date = as_of()
