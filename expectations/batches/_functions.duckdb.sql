-- The functions the batch queries call, on DuckDB. Personal data reaches a
-- check only through masked (its shape: letters x, digits 9) or hashed (the
-- SHA-256 of the trimmed, lower-cased value), never the value itself.
create temp macro as_of() as date '$as_of';
create temp macro quarantine_min_records() as $quarantine_min_records;
create temp macro masked(value) as
regexp_replace(regexp_replace(value, '[A-Za-z]', 'x', 'g'), '[0-9]', '9', 'g');
create temp macro hashed(value) as sha256(lower(trim(value)));
