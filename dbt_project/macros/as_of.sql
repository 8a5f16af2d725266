{% macro as_of_date() -%}
    {%- set as_of = var('as_of') -%}
    {%- if as_of is none and execute -%}
        {{ exceptions.raise_compiler_error(
            "The 'as_of' variable is not set. Pass the logical date to build for, e.g."
            ~ " dbt build --vars '{as_of: 2026-11-22}'."
        ) }}
    {%- endif -%}
    cast('{{ as_of }}' as date)
{%- endmacro %}

{% macro as_of_end() -%}
    {{ dbt.dateadd('day', 1, audiences.as_of_date()) }}
{%- endmacro %}
