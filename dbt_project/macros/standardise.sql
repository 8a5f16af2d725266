{#- Standardisation shared by the staging models. DuckDB-specific SQL sits in
    dispatched macros so that another warehouse only adds its own variant. -#}

{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{% macro is_valid_email(column) -%}
    {#- Per row: for the few addresses of a model that has no lookup (identify
        traits, bounces); models join int_email_addresses instead. -#}
    coalesce({{ column }} is not null and {{ audiences.email_invalid_reason(column) }} is null, false)
{%- endmacro %}

{% macro email_invalid_reason(column) -%}
    {{ return(adapter.dispatch('email_invalid_reason', 'audiences')(column)) }}
{%- endmacro %}

{% macro duckdb__email_invalid_reason(column) -%}
    email_invalid_reason({{ column }})
{%- endmacro %}

{% macro spark__email_invalid_reason(column) -%}
    {#- The Python UDF audiences.spark.functions registers. -#}
    email_invalid_reason({{ column }})
{%- endmacro %}

{% macro default__email_invalid_reason(column) -%}
    {{ exceptions.raise_compiler_error(
        "email_invalid_reason needs an email-validator UDF on " ~ adapter.type()
        ~ "; see src/audiences/warehouse_functions.py for the DuckDB one."
    ) }}
{%- endmacro %}

{% macro try_cast(column, type) -%}
    {#- A conversion that gives NULL instead of failing the model: the extract
        quarantines values that do not convert, this keeps a stray one from
        holding the night. -#}
    {{ return(adapter.dispatch('try_cast', 'audiences')(column, type)) }}
{%- endmacro %}

{% macro default__try_cast(column, type) -%}
    {#- DuckDB, Spark, Trino, Snowflake and SQL Server spell it the same. -#}
    try_cast({{ column }} as {{ type }})
{%- endmacro %}

{% macro normalize_phone(column, region) -%}
    {{ return(adapter.dispatch('normalize_phone', 'audiences')(column, region)) }}
{%- endmacro %}

{% macro duckdb__normalize_phone(column, region) -%}
    normalize_phone({{ column }}, {{ region }})
{%- endmacro %}

{% macro spark__normalize_phone(column, region) -%}
    {#- The Python UDF audiences.spark.functions registers. -#}
    normalize_phone({{ column }}, {{ region }})
{%- endmacro %}

{% macro default__normalize_phone(column, region) -%}
    {{ exceptions.raise_compiler_error(
        "normalize_phone needs a libphonenumber UDF on " ~ adapter.type()
        ~ "; see src/audiences/warehouse_functions.py for the DuckDB one."
    ) }}
{%- endmacro %}

{% macro snake_case(column) -%}
    nullif(
        lower({{ audiences.regexp_replace_all(
            audiences.regexp_replace_all('trim(' ~ column ~ ')', "'[^A-Za-z0-9]+'", "'_'"),
            "'^_+|_+$'",
            "''",
        ) }}),
        ''
    )
{%- endmacro %}

{% macro country_lookup() -%}
    {#- Every known spelling: the ISO 3166 alpha-2 code itself, the English
        name, and the aliases seed (which also lists known non-countries, with
        a null code and the reason). Keys are lower case. -#}
    select
        lower(country_code) as country_key,
        country_code,
        cast(null as string) as unmapped_reason
    from {{ ref('country_codes') }}
    union all
    select
        lower(country_name) as country_key,
        country_code,
        cast(null as string) as unmapped_reason
    from {{ ref('country_codes') }}
    union all
    select
        lower(alias) as country_key,
        country_code,
        unmapped_reason
    from {{ ref('country_aliases') }}
{%- endmacro %}

{% macro country_unmapped_reason(raw, lookup) -%}
    {#- Why a record's country has no ISO code: a known non-country's reason,
        or an unknown name; null when it maps (or when there is none). -#}
    case
        when nullif(trim({{ raw }}), '') is null then null
        when {{ lookup }}.country_key is null then 'unknown country name'
        else {{ lookup }}.unmapped_reason
    end
{%- endmacro %}

{#- The level a pair of values reaches in a probabilistic comparison, numbered
    as splink numbers them (its comparison vector value): -1 when a side is
    missing, then from the best level down to 0, "different". kind 'exact':
    1 equal. kind 'spelling': 3 equal, 2 within one edit, 1 within two
    (splink's LevenshteinAtThresholds with thresholds 1 and 2). -#}
{% macro comparison_level(left, right, kind) -%}
    case
        when {{ left }} is null or {{ right }} is null then -1
        {%- if kind == 'exact' %}
        when {{ left }} = {{ right }} then 1
        {%- else %}
        when {{ left }} = {{ right }} then 3
        when levenshtein({{ left }}, {{ right }}) <= 1 then 2
        when levenshtein({{ left }}, {{ right }}) <= 2 then 1
        {%- endif %}
        else 0
    end
{%- endmacro %}
