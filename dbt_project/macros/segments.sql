{#- Segments are the models tagged 'segment' (every model in models/segments).
    Their YAML meta says who owns them, their priority (1 wins) and their
    status (active or archived). These macros read that from the graph, so
    they only return segments while dbt executes. -#}

{% macro segment_nodes(statuses=('active',)) -%}
    {%- set nodes = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and 'segment' in node.tags -%}
            {%- do audiences.validate_segment(node) -%}
            {%- if node.config.meta.status in statuses -%}
                {%- do nodes.append(node) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set priorities = {} -%}
        {%- for node in nodes if node.config.meta.status == 'active' -%}
            {%- set priority = node.config.meta.priority -%}
            {%- if priority in priorities -%}
                {{ exceptions.raise_compiler_error(
                    "Segments " ~ priorities[priority] ~ " and " ~ node.name
                    ~ " both have priority " ~ priority ~ ": give each active segment its own"
                    ~ " priority in its YAML meta, so that the primary segment is unambiguous."
                ) }}
            {%- endif -%}
            {%- do priorities.update({priority: node.name}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(nodes | sort(attribute='name') | sort(attribute='config.meta.priority')) }}
{%- endmacro %}


{% macro validate_segment(node) -%}
    {%- set meta = node.config.meta -%}
    {%- set where = "Segment " ~ node.name ~ " (" ~ node.original_file_path ~ " and its YAML entry)" -%}
    {%- if meta.status not in ('active', 'archived') -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": meta.status must be 'active' or 'archived', not " ~ (meta.status | tojson) ~ "."
        ) }}
    {%- endif -%}
    {%- if meta.priority is not number or meta.priority != (meta.priority | int) or meta.priority < 1 -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": meta.priority must be a whole number from 1 (the highest), not "
            ~ (meta.priority | tojson) ~ "."
        ) }}
    {%- endif -%}
    {%- for source in meta.get('needs', []) if source not in ('crm', 'web', 'shop') -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": meta.needs lists the sources the rule reads (crm, web, shop), not "
            ~ (source | tojson) ~ "."
        ) }}
    {%- endfor -%}
    {%- if not meta.owner -%}
        {{ exceptions.raise_compiler_error(where ~ ": meta.owner must name who owns the segment.") }}
    {%- endif -%}
    {%- set share = meta.get('holdout_share', var('segment_holdout_share')) -%}
    {%- if share is not number or share < 0 or share >= 1 -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": the holdout share must be a number from 0 to below 1, not "
            ~ (share | tojson) ~ "."
        ) }}
    {%- endif -%}
{%- endmacro %}


{% macro enabled_sources() -%}
    {#- The source systems the company has (AUDIENCES_SOURCES; all by default). -#}
    {{ return(env_var('AUDIENCES_SOURCES', 'crm,web,shop').split(',')) }}
{%- endmacro %}


{% macro segment_not_computable(node) -%}
    {#- Why a segment cannot be computed here ("needs web events"), or none:
        its YAML meta.needs names the sources its rule reads. -#}
    {%- set words = {'crm': 'CRM data', 'web': 'web events', 'shop': 'shop orders'} -%}
    {%- set missing = [] -%}
    {%- for source in node.config.meta.get('needs', []) -%}
        {%- if source not in audiences.enabled_sources() -%}
            {%- do missing.append(words[source]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('needs ' ~ (missing | join(' and ')) if missing else none) }}
{%- endmacro %}


{% macro segment_holdout_share(node) -%}
    {{- return(node.config.meta.get('holdout_share', var('segment_holdout_share'))) -}}
{%- endmacro %}


{% macro segment_ref(node) -%}
    {#- ref() of a segment from a model that reads every segment; the model
        names each segment in a `-- depends_on:` line, so dbt knows them when
        it parses. -#}
    {%- if node.unique_id not in model.depends_on.nodes -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " reads every segment, but segment " ~ node.name ~ " is not among"
            ~ " its dependencies: add the line  -- depends_on: {{ ref('" ~ node.name ~ "') }}"
            ~ "  to " ~ model.original_file_path ~ " (`audiences segment new` does it)."
        ) }}
    {%- endif -%}
    {{ return(ref(node.name)) }}
{%- endmacro %}


{% macro stable_bucket(expression, buckets=10000) -%}
    {{ return(adapter.dispatch('stable_bucket', 'audiences')(expression, buckets)) }}
{%- endmacro %}

{% macro default__stable_bucket(expression, buckets) -%}
    {#- The first 32 bits of the MD5 of the text: the same on every run and
        every warehouse, unlike the engines' own hash functions. -#}
    (('x' || substr(md5({{ expression }}), 1, 8))::bit(32)::bigint % {{ buckets }})
{%- endmacro %}

{% macro duckdb__stable_bucket(expression, buckets) -%}
    (cast('0x' || substr(md5({{ expression }}), 1, 8) as ubigint) % {{ buckets }})
{%- endmacro %}

{% macro spark__stable_bucket(expression, buckets) -%}
    (cast(conv(substr(md5({{ expression }}), 1, 8), 16, 10) as bigint) % {{ buckets }})
{%- endmacro %}


{% macro sha256_email(expression) -%}
    {{ return(adapter.dispatch('sha256_email', 'audiences')(expression)) }}
{%- endmacro %}

{% macro default__sha256_email(expression) -%}
    {#- Ad platforms' hashed-email match key: the hex SHA-256 of the address
        trimmed and lower-cased (Meta and Google Customer Match). -#}
    encode(sha256(convert_to(lower(trim({{ expression }})), 'UTF8')), 'hex')
{%- endmacro %}

{% macro duckdb__sha256_email(expression) -%}
    sha256(lower(trim({{ expression }})))
{%- endmacro %}

{% macro spark__sha256_email(expression) -%}
    sha2(lower(trim({{ expression }})), 256)
{%- endmacro %}


{% macro google_email(expression) -%}
    {#- The address as Google Customer Match normalises it before hashing:
        trimmed, lower-cased, and for gmail.com and googlemail.com without the
        dots of the local part (jane.doe@gmail.com is janedoe@gmail.com).
        split_part and replace mean the same on DuckDB and Spark. -#}
    case
        when split_part(lower(trim({{ expression }})), '@', 2) in ('gmail.com', 'googlemail.com')
            then replace(split_part(lower(trim({{ expression }})), '@', 1), '.', '')
            || '@' || split_part(lower(trim({{ expression }})), '@', 2)
        else lower(trim({{ expression }}))
    end
{%- endmacro %}


{% macro sql_string(text) -%}
    {#- A SQL string literal of any text (quotes doubled). -#}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
