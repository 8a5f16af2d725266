{#- Daily activity models (int_web_activity_days, int_email_activity_days)
    hold mergeable per-day counts of the staged events, keyed by the
    identifiers the events carry, not by customer: a merge or split of
    customers changes none of their rows, so the point-in-time features read
    a few million day rows through tonight's identity map instead of
    aggregating every event again. They are incremental by day: a night
    re-counts, from the staged events, every day that received an event in
    the nights loaded since the last build (a late event re-counts its own
    day), and every day whose rows counted one of those nights (a re-run
    re-reads its night, which may have lost events). What remains equals a
    full refresh (tests/dbt/test_incremental_nights.py). -#}

{% macro activity_days_to_recount(events) -%}
    {#- The days (ISO date strings, sorted) an incremental run re-counts, or
        none when the model is built from scratch. `events`: the staged
        events, with occurred_at and load_date. Evaluated when the model is
        compiled and again when its pre-hook runs, before anything is deleted,
        so both agree on it. -#}
    {%- set since = audiences.incremental_since('last_load_date') -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set days = run_query(
        'select cast(cast(occurred_at as date) as string) from ' ~ events
        ~ ' where load_date >= ' ~ since
        ~ ' union select cast(activity_on as string) from ' ~ this
        ~ ' where last_load_date >= ' ~ since
    ).columns[0].values() -%}
    {{ return(days | sort) }}
{%- endmacro %}

{% macro activity_days_filter(days) -%}
    {#- A predicate on the staged events' occurred_at: true on a full build,
        else the days to re-count (bounded first, so the scan can skip the
        rest of the history). -#}
    {%- if days is none -%}
        true
    {%- elif days | length == 0 -%}
        false
    {%- else -%}
        occurred_at >= cast('{{ days | first }}' as date)
        and occurred_at < {{ dbt.dateadd('day', 1, "cast('" ~ days | last ~ "' as date)") }}
        and cast(occurred_at as date) in ({{ audiences.date_literals(days) }})
    {%- endif -%}
{%- endmacro %}

{% macro delete_recounted_days(events) -%}
    {#- Pre-hook: forget the days this run re-counts (a day may have no event
        left to insert). -#}
    {%- set days = audiences.activity_days_to_recount(events) -%}
    {%- if days -%}
        delete from {{ this }} where activity_on in ({{ audiences.date_literals(days) }})
    {%- endif -%}
{%- endmacro %}

{% macro date_literals(days) -%}
    {#- ISO date strings as a list of SQL dates, for an `in (...)`. -#}
    {%- for day in days %}cast('{{ day }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}
