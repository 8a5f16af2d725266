{#- Incremental facts (web events, email activity) are keyed by the night that
    loaded each row (`load_date`, the raw tables' `_logical_date`), not by when
    the event happened: an event that arrives late lands in the partition of
    the night it arrived, so reading the nights loaded since the last build
    takes every late event, whatever its timestamp, and deduplication against
    every earlier copy of its key keeps the result equal to a full refresh.
    A re-run of the latest night re-reads that night (the load replaced its
    partition). `incremental_lookback_days` re-reads that many nights before
    as well, for a source whose partitions can be re-loaded without re-running
    the night; the nightly load never does that, so it is 0. A run for a date
    earlier than the model already holds (a backfill) is a full refresh;
    audiences.transform.dbt decides that before dbt runs. -#}

{% macro incremental_since(load_date_column='load_date') -%}
    {#- The first load date an incremental run reads (a SQL date literal): the
        night after the latest one the model holds, or that night itself on a
        re-run, minus the lookback; none when the model is built from
        scratch. Evaluated when the model is compiled and again when its
        pre-hook runs, before anything is deleted, so both agree on it. -#}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set latest = run_query(
        'select cast(max(' ~ load_date_column ~ ') as string) from ' ~ this
    ).columns[0].values()[0] -%}
    {%- if latest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set latest = modules.datetime.date.fromisoformat(latest) -%}
    {%- if latest.isoformat() > var('as_of') | string
        and invocation_args_dict.get('which') not in ('build', 'run') -%}
        {#- Compiling only (dbt compile, docs generate, show): the SQL of a
            rebuild as of that date, which is what a run would need. -#}
        {{ return(none) }}
    {%- elif latest.isoformat() > var('as_of') | string -%}
        {{ exceptions.raise_compiler_error(
            this ~ " holds nights loaded up to " ~ latest ~ "; a build as of the earlier date "
            ~ var('as_of') ~ " must rebuild it: add --full-refresh (the nightly run does so"
            ~ " by itself for a backfill)."
        ) }}
    {%- endif -%}
    {%- set first_new = latest if latest.isoformat() == var('as_of') | string
        else latest + modules.datetime.timedelta(days=1) -%}
    {%- set since = first_new - modules.datetime.timedelta(days=var('incremental_lookback_days')) -%}
    {{ return("cast('" ~ since.isoformat() ~ "' as date)") }}
{%- endmacro %}

{% macro delete_reloaded_nights(load_date_column='load_date') -%}
    {#- Pre-hook: forget the rows taken from the nights re-read by this run; the
        run takes them again from raw as they are now (a row that is no longer
        there stays gone). -#}
    {%- set since = audiences.incremental_since(load_date_column) -%}
    {%- if since is not none -%}
        delete from {{ this }} where {{ load_date_column }} >= {{ since }}
    {%- endif -%}
{%- endmacro %}

{% macro keys_loaded_since(relation, key, since) -%}
    {#- A predicate restricting an incremental run to the keys found in the
        nights it reads, with every copy of them ever loaded, so that
        deduplication picks the same row as a full refresh would; true on a
        full build. -#}
    {%- if since is none -%}
        true
    {%- else -%}
        {{ key }} in (
            select {{ key }} from {{ relation }}
            where _logical_date between {{ since }} and {{ audiences.as_of_date() }}
        )
    {%- endif -%}
{%- endmacro %}
