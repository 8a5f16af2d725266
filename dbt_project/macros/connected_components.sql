{% macro connected_components(edges, left_key='left_key', right_key='right_key') -%}
    {#- Label every node of an undirected graph with the smallest node key of
        its connected component, over any number of hops. -#}
    {{ return(adapter.dispatch('connected_components', 'audiences')(edges, left_key, right_key)) }}
{%- endmacro %}

{% macro duckdb__connected_components(edges, left_key, right_key) -%}
    {#- Min-label propagation as a keyed recursive CTE: each round only the nodes
        whose label improved are revisited, so the work follows the changes, and
        the recursion ends when no label improves (at most the graph's diameter). -#}
    with recursive
    directed as (
        select {{ left_key }} as node_key, {{ right_key }} as neighbour_key from {{ edges }}
        union
        select {{ right_key }} as node_key, {{ left_key }} as neighbour_key from {{ edges }}
    ),
    labels (node_key, component_key) using key (node_key) as (
        select distinct node_key, node_key as component_key from directed
        union
        select
            directed.neighbour_key as node_key,
            min(labels.component_key) as component_key
        from labels
        inner join directed on labels.node_key = directed.node_key
        left join recurring.labels as current_label
            on directed.neighbour_key = current_label.node_key
        group by directed.neighbour_key
        having min(labels.component_key) < min(current_label.component_key)
    )
    select node_key, component_key from labels
{%- endmacro %}

{% macro default__connected_components(edges, left_key, right_key) -%}
    {{ exceptions.raise_compiler_error(
        "connected_components has no implementation for " ~ adapter.type()
        ~ " yet: add " ~ adapter.type() ~ "__connected_components (e.g. iterative"
        ~ " label propagation) next to the DuckDB one."
    ) }}
{%- endmacro %}
