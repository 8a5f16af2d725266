{#- One row per segment (active or archived) with what its YAML entry says:
    the rule in words, owner, priority, status, tags and holdout share, and
    why it cannot be computed when it needs a source the company does not
    have (meta.needs, AUDIENCES_SOURCES).
    Built from the dbt graph, so a new segment appears here by itself. -#}

{%- set segments = segment_nodes(statuses=('active', 'archived')) -%}

{% if segments %}
    {% for node in segments %}
        select
            {{ sql_string(node.name) }} as segment,
            {{ sql_string(node.description | trim) }} as rule_description,
            {{ sql_string(node.config.meta.owner) }} as owner,  -- noqa: RF04
            cast({{ node.config.meta.priority }} as integer) as priority,
            {{ sql_string(node.config.meta.status) }} as status,
            {{ sql_string(node.tags | reject('equalto', 'segment') | join(',')) }} as tags,
            cast({{ segment_holdout_share(node) }} as double) as holdout_share,
            {{ sql_string(node.original_file_path) }} as model_path,
            {% set reason = segment_not_computable(node) -%}
            {{ sql_string(reason) if reason else 'cast(null as string)' }}
                as not_computable_reason,
            cast({{ as_of_date() }} as date) as as_of
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% else %}
    select
        cast(null as string) as segment,
        cast(null as string) as rule_description,
        cast(null as string) as owner,
        cast(null as integer) as priority,
        cast(null as string) as status,
        cast(null as string) as tags,
        cast(null as double) as holdout_share,
        cast(null as string) as model_path,
        cast(null as string) as not_computable_reason,
        cast(null as date) as as_of
    where 1 = 0
{% endif %}
