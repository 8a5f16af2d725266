{#
    The raw layer on Spark is the landing Parquet itself: one external table
    per source table over its folder (`<source>/<entity>/logical_date=…`),
    with its partitions synced to the folders (a new night is a new
    partition) and its file list refreshed. The night's load runs it after
    landing (`dbt run-operation stage_raw_sources`, as dbt-external-tables'
    stage_external_sources). On DuckDB the loader fills `raw`: nothing to do.
#}
{% macro stage_raw_sources(tables=none) %}
    {#- `tables`: the raw tables to register (default: every source table). -#}
    {{ return(adapter.dispatch('stage_raw_sources', 'audiences')(tables)) }}
{% endmacro %}

{% macro default__stage_raw_sources(tables) %}{% endmacro %}

{% macro spark__stage_raw_sources(tables) %}
    {% if execute %}
        {% set landing = env_var('AUDIENCES_LANDING', '../data/landing') %}
        {% do run_query('create database if not exists raw') %}
        {% for source in graph.sources.values()
            if source.schema == 'raw' and (tables is none or source.name in tables) %}
            {% set entity = source.name[source.source_name | length + 1:] %}
            {% set relation = 'raw.' ~ source.name %}
            {% do run_query(
                'create table if not exists ' ~ relation ~ ' using parquet'
                ~ " location '" ~ landing ~ '/' ~ source.source_name ~ '/' ~ entity ~ "'"
            ) %}
            {% do run_query('msck repair table ' ~ relation ~ ' sync partitions') %}
            {% do run_query('refresh table ' ~ relation) %}
        {% endfor %}
    {% endif %}
{% endmacro %}
