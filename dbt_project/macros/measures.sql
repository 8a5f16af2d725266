{% macro ratio(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0)
{%- endmacro %}

{% macro money_per(amount, count) -%}
    {{ return(adapter.dispatch('money_per', 'audiences')(amount, count)) }}
{%- endmacro %}

{% macro default__money_per(amount, count) -%}
    {#- Spark and PostgreSQL divide decimals exactly; the cast rounds half up. -#}
    cast({{ amount }} / {{ count }} as decimal(18, 2))
{%- endmacro %}

{% macro duckdb__money_per(amount, count) -%}
    {#- DuckDB divides decimals in floating point (547.43 / 2 = 273.71499…):
        divide whole cents instead, rounding half away from zero. -#}
    cast(
        sign({{ amount }})
        * ((abs(cast({{ amount }} * 100 as hugeint)) * 2 + {{ count }}) // (2 * {{ count }}))
        as decimal(18, 0)
    ) * cast(0.01 as decimal(3, 2))
{%- endmacro %}
