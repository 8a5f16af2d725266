{% macro deduplicate(relation, partition_by, order_by) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ partition_by }}
                order by {{ order_by }}
            ) as dedupe_rank
        from {{ relation }}
    ) as ranked
    where dedupe_rank = 1
{%- endmacro %}

{% macro deduplicate_redeliveries(relation, key, order_by) -%}
    {#- The same rows as deduplicate(), for event streams where a key repeats
        only when a file is delivered again: ranking carries every column
        through a sort, so only the rows of repeated keys are ranked and the
        rest pass as they are. A null key is ranked with the repeats, as
        deduplicate() keeps one row of them. -#}
    with repeated_keys as (

        select {{ key }} from {{ relation }}
        where {{ key }} is not null
        group by {{ key }}
        having count(*) > 1

    )

    select *, 1 as dedupe_rank
    from {{ relation }}
    where {{ key }} not in (select repeated_keys.{{ key }} from repeated_keys)

    union all

    select *
    from (
        select
            *,
            row_number() over (partition by {{ key }} order by {{ order_by }}) as dedupe_rank
        from {{ relation }}
        where
            {{ key }} is null
            or {{ key }} in (select repeated_keys.{{ key }} from repeated_keys)
    ) as ranked
    where dedupe_rank = 1
{%- endmacro %}
