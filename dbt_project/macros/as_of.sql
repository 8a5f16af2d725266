{% macro as_of_date() -%}
    {%- set as_of = var('as_of') -%}
    {%- if as_of is none and execute and flags.WHICH != 'generate' -%}
        {{ exceptions.raise_compiler_error(
            "The 'as_of' variable is not set. Pass the logical date to build for, e.g."
            ~ " dbt build --vars '{as_of: 2026-11-22}'."
        ) }}
    {%- endif -%}
    {#- `dbt docs generate` compiles every model to show its SQL and runs none:
        without the var, the docs show the date as a parameter. -#}
    {%- if as_of is none -%}
        cast(null as date) /* var as_of */
    {%- else -%}
        cast('{{ as_of }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro as_of_end() -%}
    {{ dbt.dateadd('day', 1, audiences.as_of_date()) }}
{%- endmacro %}
