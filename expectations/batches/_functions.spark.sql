-- The functions the batch queries call, on Spark: the same as on DuckDB
-- (_functions.duckdb.sql), so a check sees the same values on both engines.
create or replace temporary function as_of() returns date return date '$as_of';
create or replace temporary function quarantine_min_records() returns int
return $quarantine_min_records;
create or replace temporary function masked(value string) returns string
return regexp_replace(regexp_replace(value, '[A-Za-z]', 'x'), '[0-9]', '9');
create or replace temporary function hashed(value string) returns string
return sha2(lower(trim(value)), 256);
