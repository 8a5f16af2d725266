{% macro current_versions(relation, key, updated_at='updated_at') -%}
    {#- The raw tables keep every version of a record that a run extracted. -#}
    {%- set filtered -%}
        (
            select * from {{ relation }}
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
