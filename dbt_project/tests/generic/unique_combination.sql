{% test unique_combination(model, columns) %}
    {#- Fails on every combination of `columns` that occurs more than once:
        the grain test of a model keyed by several columns. -#}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
