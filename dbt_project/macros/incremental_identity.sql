{% macro set_digest(column) -%}
    {#- An aggregate that fingerprints the set of a column's values, whatever
        their order: equal sets give equal digests, and a set that gains or
        loses a value gives another one (but for a 64-bit hash collision). -#}
    {{ return(adapter.dispatch('set_digest', 'audiences')(column)) }}
{%- endmacro %}

{% macro duckdb__set_digest(column) -%}
    bit_xor(hash({{ column }}))
{%- endmacro %}

{% macro spark__set_digest(column) -%}
    bit_xor(xxhash64({{ column }}))
{%- endmacro %}

{% macro default__set_digest(column) -%}
    {{ exceptions.raise_compiler_error(
        "set_digest has no implementation for " ~ adapter.type()
        ~ " yet: add " ~ adapter.type() ~ "__set_digest (an XOR of 64-bit hashes) next to"
        ~ " the DuckDB one."
    ) }}
{%- endmacro %}

{% macro delete_gone_identifiers() -%}
    {#- Post-hook of int_identity_components: remove the rows of identifiers
        that are no longer nodes of the graph (a deleted or erased record). -#}
    {%- if is_incremental() %}
    delete from {{ this }}
    where identifier_key not in (select identifier_key from {{ ref('int_identity_nodes') }})
    {%- endif %}
{%- endmacro %}
