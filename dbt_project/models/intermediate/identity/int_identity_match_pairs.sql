{#- Probabilistic record linkage (Fellegi-Sunter, as splink scores it): pairs
    of records (int_identity_records) that share no address but agree on
    enough else to be one person, with the evidence. Candidates are the
    pairs that agree on the local part of the address, on the phone number,
    or on first name, last name and postal code (splink's blocking rules),
    where no more than identity_match_max_block_records records agree: a
    role address's local part (info, einkauf: thousands of offices) says
    nothing of a person, and would make millions of pairs. (Name and city
    alone would make two million pairs of name twins at 1 M customers, and
    none of them can reach the threshold without the postal code or a
    number, which block on their own.) Each
    comparison puts a pair on a level (exact, within one or two edits,
    different, or missing on a side); the seed identity_match_weights holds
    each level's match weight, log2(m/u), as `audiences train-linkage`
    estimated them with splink, and the prior. A pair's match weight is the
    prior plus its levels' weights; pairs whose match probability reaches
    the identity_match_min_probability variable are kept, and
    int_identity_links links them (probable_match). Two records on one
    address are not compared: the address links them, or a guard decided
    that it holds two people. Nor are two first names that differ by more
    than two edits ever one person. -#}

{%- set blockings = [
    ['email_local'],
    ['match_phone'],
    ['first_name', 'last_name', 'postal_code'],
] %}
{%- set comparisons = [
    ('first_name', 'spelling'),
    ('last_name', 'spelling'),
    ('match_phone', 'exact'),
    ('city', 'exact'),
    ('postal_code', 'exact'),
    ('email_local', 'spelling'),
] %}

with

records as (

    select * from {{ ref('int_identity_records') }}

),

blocked as (

    {#- How many records hold each record's value of each blocking. #}
    select
        record_key,
        {%- for blocking in blockings %}
            count(*) over (
                partition by {{ blocking | join(', ') }}
            ) as block_{{ loop.index }}_records
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from records

),

weights as (

    select * from {{ ref('identity_match_weights') }}

),

priors as (

    select match_weight as prior_weight from weights
    where comparison = 'prior'

),

candidates as (

    {%- for blocking in blockings %}
        {% if not loop.first %}union{% endif %}
        select
            left_records.record_key as left_key,
            right_records.record_key as right_key
        from records as left_records
        inner join blocked
            on left_records.record_key = blocked.record_key
        inner join records as right_records
            on
                left_records.record_key < right_records.record_key
                {%- for column in blocking %}
                    and left_records.{{ column }} = right_records.{{ column }}
                {%- endfor %}
        where
            blocked.block_{{ loop.index }}_records <= {{ var('identity_match_max_block_records') }}
            and left_records.email_meant is distinct from right_records.email_meant
    {%- endfor %}

),

levels as (

    select
        candidates.left_key,
        candidates.right_key,
        {%- for column, kind in comparisons %}
            {{ audiences.comparison_level(
                'left_records.' ~ column, 'right_records.' ~ column, kind
            ) }} as {{ column }}_level,
        {%- endfor %}
        greatest(left_records.first_seen_at, right_records.first_seen_at) as first_seen_at
    from candidates
    inner join records as left_records
        on candidates.left_key = left_records.record_key
    inner join records as right_records
        on candidates.right_key = right_records.record_key

),

{%- set total = namespace(sql='priors.prior_weight') %}
{%- for column, kind in comparisons %}
    {%- set total.sql = total.sql ~ ' + ' ~ column ~ '_weights.match_weight' %}
{%- endfor %}

scored as (

    select
        levels.left_key,
        levels.right_key,
        {%- for column, kind in comparisons %}
            levels.{{ column }}_level,
            {{ column }}_weights.label as {{ column }}_agreement,
            {{ column }}_weights.match_weight as {{ column }}_weight,
        {%- endfor %}
        priors.prior_weight,
        {{ total.sql }} as match_weight,
        levels.first_seen_at
    from levels
    cross join priors
    {%- for column, kind in comparisons %}
        inner join weights as {{ column }}_weights
            on
                {{ column }}_weights.comparison = '{{ column }}'
                and levels.{{ column }}_level = {{ column }}_weights.comparison_level
    {%- endfor %}

),

{#- The weight in words: each comparison's level and weight, then the prior. #}
{%- set evidence = namespace(sql='') %}
{%- for column, kind in comparisons %}
    {%- set evidence.sql = evidence.sql ~ "'" ~ column ~ " ' || " ~ column ~ "_agreement || ' ' || "
        ~ "cast(round(" ~ column ~ "_weight, 2) as string) || ', ' || " %}
{%- endfor %}
{%- set evidence.sql = evidence.sql ~ "'prior ' || cast(round(prior_weight, 2) as string)" %}

final as (

    select
        *,
        power(2, match_weight) / (1 + power(2, match_weight)) as match_probability,
        {{ evidence.sql }} as evidence
    from scored

)

{#- Two first names are two people, whatever else agrees: the rule of the
    shared-address guard, for the couple whose shared address one partner
    typed broken (and so share its local part). #}
select * from final
where
    match_probability >= {{ var('identity_match_min_probability') }}
    and first_name_level != 0
