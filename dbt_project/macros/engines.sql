{#- SQL that DuckDB and Spark spell differently, one macro each, dispatched on
    the target's adapter (docs/scale-out.md). Everything else in the project
    is written in the dialect both share. -#}

{% macro regexp_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'audiences')(text, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(text, pattern, replacement) -%}
    {#- Spark, Trino, Snowflake: every match is replaced. -#}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{% macro duckdb__regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}


{% macro json_string(document, path) -%}
    {#- The text of the value at `path` (JSONPath, '$.a.b') of a JSON text column. -#}
    {{ return(adapter.dispatch('json_string', 'audiences')(document, path)) }}
{%- endmacro %}

{% macro duckdb__json_string(document, path) -%}
    json_extract_string({{ document }}, '{{ path }}')
{%- endmacro %}

{% macro spark__json_string(document, path) -%}
    get_json_object({{ document }}, '{{ path }}')
{%- endmacro %}


{% macro json_strings(document, paths) -%}
    {#- The text of the values at `paths` (JSONPath, '$.a.b') of a JSON text
        column, as a list; take them with list_item(list, 1..n). -#}
    {{ return(adapter.dispatch('json_strings', 'audiences')(document, paths)) }}
{%- endmacro %}

{% macro duckdb__json_strings(document, paths) -%}
    {#- One parse of the document for every path. -#}
    json_extract_string({{ document }}, ['{{ paths | join("', '") }}'])
{%- endmacro %}

{% macro spark__json_strings(document, paths) -%}
    array(
        {%- for path in paths %}
        get_json_object({{ document }}, '{{ path }}'){{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}


{% macro list_item(list, position) -%}
    {#- The item of a list at `position`, counting from 1. -#}
    {{ return(adapter.dispatch('list_item', 'audiences')(list, position)) }}
{%- endmacro %}

{% macro duckdb__list_item(list, position) -%}
    {{ list }}[{{ position }}]
{%- endmacro %}

{% macro spark__list_item(list, position) -%}
    element_at({{ list }}, {{ position }})
{%- endmacro %}


{% macro materialized_incremental() -%}
    {#- The materialization of the models that are incremental by key (delete
        then insert): `incremental` where tables take DELETE (DuckDB), a
        `table` rebuilt every night on Spark's Parquet tables, which do not.
        Equal results either way: a key-incremental model equals its full
        refresh (tests/dbt/test_incremental_nights.py). -#}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}


{% macro timestamp_text(column) -%}
    {#- A UTC timestamp as text, the same on every engine (for ids hashed from
        it): DuckDB's own form, '2026-11-01 09:00:00.12+00'. -#}
    {{ return(adapter.dispatch('timestamp_text', 'audiences')(column)) }}
{%- endmacro %}

{% macro default__timestamp_text(column) -%}
    cast({{ column }} as string)
{%- endmacro %}

{% macro spark__timestamp_text(column) -%}
    {#- The same digits (session time zone UTC), without the offset. -#}
    cast({{ column }} as string) || '+00'
{%- endmacro %}


{% macro parquet_file(path) -%}
    {#- A Parquet file read as a relation. -#}
    {{ return(adapter.dispatch('parquet_file', 'audiences')(path)) }}
{%- endmacro %}

{% macro default__parquet_file(path) -%}
    {#- Spark, Databricks. -#}
    parquet.`{{ path }}`
{%- endmacro %}

{% macro duckdb__parquet_file(path) -%}
    read_parquet({{ audiences.sql_string(path) }})
{%- endmacro %}
