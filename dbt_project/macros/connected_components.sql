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

{% macro spark__connected_components(edges, left_key, right_key) -%}
    {#- Spark SQL has no keyed recursion: min-label propagation unrolled into
        a fixed number of rounds (var identity_label_rounds), each taking the
        smallest label among a node and its neighbours. One round more checks
        convergence: if it would still change a label, the graph has a path
        longer than the rounds cover and the build fails, saying so, rather
        than leave a component split. -#}
    {%- set rounds = var('identity_label_rounds') -%}
    with
    directed as (
        select {{ left_key }} as node_key, {{ right_key }} as neighbour_key from {{ edges }}
        union
        select {{ right_key }} as node_key, {{ left_key }} as neighbour_key from {{ edges }}
        union
        select {{ left_key }} as node_key, {{ left_key }} as neighbour_key from {{ edges }}
        union
        select {{ right_key }} as node_key, {{ right_key }} as neighbour_key from {{ edges }}
    ),
    round_0 as (
        select distinct node_key, node_key as component_key from directed
    ),
    {%- for round in range(1, rounds + 2) %}
    round_{{ round }} as (
        select directed.node_key, min(previous.component_key) as component_key
        from directed
        inner join round_{{ round - 1 }} as previous
            on directed.neighbour_key = previous.node_key
        group by directed.node_key
    ),
    {%- endfor %}
    checked as (
        select
            labelled.node_key,
            case
                when labelled.component_key = once_more.component_key
                    then labelled.component_key
                else cast(raise_error(
                    'connected_components: labels still change after {{ rounds }} rounds;'
                    || ' raise the var identity_label_rounds'
                ) as string)
            end as component_key
        from round_{{ rounds }} as labelled
        inner join round_{{ rounds + 1 }} as once_more
            on labelled.node_key = once_more.node_key
    )
    select node_key, component_key from checked
{%- endmacro %}

{% macro default__connected_components(edges, left_key, right_key) -%}
    {{ exceptions.raise_compiler_error(
        "connected_components has no implementation for " ~ adapter.type()
        ~ " yet: add " ~ adapter.type() ~ "__connected_components (e.g. iterative"
        ~ " label propagation) next to the DuckDB one."
    ) }}
{%- endmacro %}
