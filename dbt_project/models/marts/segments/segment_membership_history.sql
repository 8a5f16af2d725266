{#- When each customer entered and left each segment, over the nightly runs
    up to the logical date (int_segment_membership_snapshots). A spell is an
    unbroken series of runs with the customer in the segment: it starts on the
    run they entered and ends on the first run without them (exited_on), or
    is current. Runs, not calendar days, count, so a skipped night is not an
    exit; a re-run or a backfill replaces its date's snapshot, and the spells
    are derived again from all snapshots. -#}

with

snapshots as (

    select * from {{ ref('int_segment_membership_snapshots') }}
    where as_of <= {{ as_of_date() }}

),

runs as (

    select
        as_of,
        row_number() over (order by as_of) as run_number
    from (select distinct as_of from snapshots) as run_dates

),

numbered as (

    select
        snapshots.customer_id,
        snapshots.segment,
        snapshots.as_of,
        runs.run_number,
        runs.run_number - row_number() over (
            partition by snapshots.customer_id, snapshots.segment order by snapshots.as_of
        ) as spell_number
    from snapshots
    inner join runs
        on snapshots.as_of = runs.as_of

),

spells as (

    select
        customer_id,
        segment,
        min(as_of) as entered_on,
        max(as_of) as last_member_on,
        max(run_number) as last_run_number,
        count(*) as runs_in_segment
    from numbered
    group by customer_id, segment, spell_number

),

final as (

    select
        spells.customer_id,
        spells.segment,
        spells.entered_on,
        next_runs.as_of as exited_on,
        spells.last_member_on,
        spells.runs_in_segment,
        next_runs.as_of is null as is_current,
        cast({{ as_of_date() }} as date) as as_of
    from spells
    left outer join runs as next_runs
        on next_runs.run_number = spells.last_run_number + 1

)

select * from final
