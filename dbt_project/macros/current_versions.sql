{% macro current_versions(relation, key, updated_at='updated_at', over_versions={}) -%}
    {#- The raw tables keep every version of a record that a run extracted.
        `over_versions` adds columns computed over all versions of a record
        (name: aggregate expression), e.g. when it last changed a flag. -#}
    {%- set filtered -%}
        (
            select
                *
                {%- for name, expression in over_versions.items() %},
                    {{ expression }} over (partition by {{ key }}) as {{ name }}
                {%- endfor %}
            from {{ relation }}
            where
                _logical_date <= {{ audiences.as_of_date() }}
                and {{ updated_at }} < {{ audiences.as_of_end() }}
        )
    {%- endset -%}
    {{ audiences.deduplicate(
        filtered,
        partition_by=key,
        order_by=updated_at ~ ' desc, _logical_date desc, _record_number desc'
    ) }}
{%- endmacro %}
