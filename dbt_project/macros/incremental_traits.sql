{#- Per-customer models (the web and email traits, the survivorship
    candidates) are incremental by customer: a night re-derives only the
    customers whose rows can have changed since the model was last built, and
    keeps every other row as it is. A customer's rows depend on three things,
    and each has its own test of change:

    1. the events or source records of their identifiers — a customer with one
       loaded since the last build (`load_date`), or stamped after that build's
       date (loaded earlier, with a timestamp in the future then);
    2. which identifiers are theirs — a customer, old or new, of an identifier
       that int_customer_id_assignments shows appeared, moved or went since;
    3. the logical date — a windowed trait ("in the last 30 days") changes
       when an event leaves the window, so a customer with an event between
       where the window started at the last build and where it starts now.

    "Since the last build" starts the night after the model's own
    `last_load_date` high-water mark (the latest night that loaded an event it
    counts), or at that night on a re-run of it, as for the staged events
    (audiences.incremental_since): a first night that loaded the whole history
    does not make the second re-derive everyone. A customer re-derived who
    has nothing left (merged into another, erased, no event any more) yields a
    row with a null `last_load_date`, which the post-hook removes; what remains
    equals a full refresh (tests/dbt/test_incremental_nights.py). A change of
    a seed or a var the traits read needs `--full-refresh`, as for any
    incremental model. -#}

{% macro traits_since() -%}
    {#- The first load date whose events may be new to the model (a SQL date
        literal, as audiences.incremental_since gives for the staged events),
        or none when the model is built from scratch. -#}
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
    {{ return(audiences.incremental_since('last_load_date')) }}
{%- endmacro %}

{% macro customers_to_refresh(since, events, windows_minutes, rederived='rederived') -%}
    {#- The customer_ids an incremental run re-derives (see the top of this
        file). `events`: a relation or CTE of the customers' events with
        customer_id, load_date and occurred_at, already before as_of_end();
        `windows_minutes`: the length of each time window a trait counts;
        `rederived`: the CTE of customers_rederived(). -#}
    select customer_id from {{ events }}
    where
        load_date >= {{ since }}
        or occurred_at >= {{ since }}
        {%- for minutes in windows_minutes %}
            or (
                occurred_at >= {{ dbt.dateadd('minute', -minutes, since) }}
                and occurred_at < {{ dbt.dateadd('minute', -minutes, audiences.as_of_end()) }}
            )
        {%- endfor %}

    union

    select customer_id from {{ rederived }}
{%- endmacro %}

{% macro customers_rederived(since, identifier_types) -%}
    {#- The customers an incremental run re-derives from their whole history:
        the old and new customers of an identifier (of `identifier_types`, those
        the events are attributed through) that appeared, moved or went since,
        and those whose rows counted a night the run re-reads. Every other
        customer re-derived keeps the set of events it had, so the run reads
        only its window and the nights loaded since, and carries the rest
        (maxima such as a last-seen time) from its row. -#}
    {%- set types = "('" ~ identifier_types | join("', '") ~ "')" -%}
    select moved.customer_id
    from {{ ref('int_customer_id_assignments') }} as moved
    where
        moved.assigned_as_of >= {{ since }}
        and moved.customer_id is not null
        and moved.identifier_type in {{ types }}

    union

    select moved.previous_customer_id as customer_id
    from {{ ref('int_customer_id_assignments') }} as moved
    where
        moved.assigned_as_of >= {{ since }}
        and moved.previous_customer_id is not null
        and moved.identifier_type in {{ types }}

    union

    select customer_id from {{ this }}
    where last_load_date >= {{ since }}
{%- endmacro %}

{% macro carried_latest(since, current, column) -%}
    {#- The later of a re-derived maximum and the one carried from the row of a
        customer whose whole history was not re-read (the `carried` CTE). -#}
    {%- if since is none -%}
        {{ current }}.{{ column }}
    {%- else -%}
        greatest({{ current }}.{{ column }}, carried.{{ column }})
    {%- endif -%}
{%- endmacro %}

{% macro delete_retracted_customers() -%}
    {#- Post-hook: remove the rows of re-derived customers with nothing left to
        count (see the top of this file). -#}
    {%- if is_incremental() %}
    delete from {{ this }} where last_load_date is null
    {%- endif %}
{%- endmacro %}
