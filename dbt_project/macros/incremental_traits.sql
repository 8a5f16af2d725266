{#- Per-customer trait models (web, email) are incremental by customer: a
    night re-derives only the customers whose traits can have changed since
    the model was last built, and keeps every other row as it is. A customer's
    traits depend on three things, and each has its own test of change:

    1. the events of their identifiers — a customer with an event loaded since
       the last build (`load_date`), or stamped after that build's date (loaded
       earlier, with a timestamp in the future then);
    2. which identifiers are theirs — a customer, old or new, of an identifier
       that int_customer_id_assignments shows appeared, moved or went since;
    3. the logical date — a windowed trait ("in the last 30 days") changes
       when an event leaves the window, so a customer with an event between
       where the window started at the last build and where it starts now.

    "Since the last build" is the model's own `last_load_date` high-water mark
    (the latest night that loaded an event it counts), re-read inclusively, so
    a re-run or a re-loaded night is re-derived too. A customer re-derived who
    has nothing left (merged into another, erased, no event any more) yields a
    row with a null `last_load_date`, which the post-hook removes; what remains
    equals a full refresh (tests/dbt/test_incremental_nights.py). A change of
    a seed or a var the traits read needs `--full-refresh`, as for any
    incremental model. -#}

{% macro traits_since() -%}
    {#- The first load date the run re-derives customers from (a SQL date
        literal), or none when the model is built from scratch. -#}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'last_load_date' not in columns -%}
        {{ exceptions.raise_compiler_error(
            this ~ " was built before it was incremental by customer: build it once with"
            ~ " --full-refresh (dbt build --full-refresh --select " ~ this.identifier ~ "+)."
        ) }}
    {%- endif -%}
    {%- set latest = run_query(
        'select cast(max(last_load_date) as varchar) from ' ~ this
    ).columns[0].values()[0] -%}
    {%- if latest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if latest > var('as_of') | string -%}
        {{ exceptions.raise_compiler_error(
            this ~ " counts events loaded up to " ~ latest ~ "; a build as of the earlier date "
            ~ var('as_of') ~ " must rebuild it: add --full-refresh (the nightly run does so"
            ~ " by itself for a backfill)."
        ) }}
    {%- endif -%}
    {{ return("cast('" ~ latest ~ "' as date)") }}
{%- endmacro %}

{% macro customers_to_refresh(since, events, identifier_types, windows_minutes=[]) -%}
    {#- The customer_ids an incremental run re-derives (see the top of this
        file). `events`: a relation or CTE of the customer's events with
        customer_id, load_date and occurred_at, already before as_of_end();
        `identifier_types`: the identifiers the events are attributed through;
        `windows_minutes`: the length of each time window a trait counts. -#}
    {%- set since_end = dbt.dateadd('day', 1, since) -%}
    select customer_id from {{ events }}
    where
        load_date >= {{ since }}
        or occurred_at >= {{ since_end }}
        {%- for minutes in windows_minutes %}
            or (
                occurred_at >= {{ dbt.dateadd('minute', -minutes, since_end) }}
                and occurred_at < {{ dbt.dateadd('minute', -minutes, audiences.as_of_end()) }}
            )
        {%- endfor %}

    union

    select moved.customer_id
    from {{ ref('int_customer_id_assignments') }} as moved
    where
        moved.assigned_as_of >= {{ since }}
        and moved.customer_id is not null
        and moved.identifier_type in ('{{ identifier_types | join("', '") }}')

    union

    select moved.previous_customer_id as customer_id
    from {{ ref('int_customer_id_assignments') }} as moved
    where
        moved.assigned_as_of >= {{ since }}
        and moved.previous_customer_id is not null
        and moved.identifier_type in ('{{ identifier_types | join("', '") }}')

    union

    select customer_id from {{ this }}
    where last_load_date >= {{ since }}
{%- endmacro %}

{% macro delete_retracted_customers() -%}
    {#- Post-hook: remove the rows of re-derived customers with nothing left to
        count (see the top of this file). -#}
    delete from {{ this }} where last_load_date is null
{%- endmacro %}
