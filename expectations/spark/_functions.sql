-- Personal data reaches a check only through these, as on DuckDB (audit.masked,
-- audit.hashed): its shape (letters x, digits 9) or a hash, never the value.
create or replace temporary function masked(value string) returns string
return regexp_replace(regexp_replace(value, '[A-Za-z]', 'x'), '[0-9]', '9');
create or replace temporary function hashed(value string) returns string
return sha2(lower(trim(value)), 256);
