{#- Addresses typed wrong in a way that says what was meant, with the
    address meant: a big provider's domain misspelt (seed email_domain_typos:
    jon.smith@gmial.com → jon.smith@gmail.com) or an address written to fool
    scrapers (jtaylor51 at gmail.com, a(at)b.com, a [at] b [dot] com). The
    correction must itself be a valid address. Identity resolution links the
    typed address to the one meant (link sources email_domain_typo,
    email_deobfuscated); the typed address stays as it was everywhere else, so
    nothing is ever sent to a guess. -#}

with

addresses as (

    select
        email,
        is_email_valid
    from {{ ref('int_email_addresses') }}

),

typos as (

    select
        lower(typo_domain) as typo_domain,
        lower(domain) as meant_domain
    from {{ ref('email_domain_typos') }}

),

{#- "a at b dot com", "a(at)b.com", "a [at] b [dot] com": only addresses
    with no @ and a spelled-out "at". Plain replaces, the same on every
    engine: brackets become parentheses, the spaces around them go, then the
    words become symbols. -#}
{%- set deobfuscated = namespace(sql='email') %}
{%- for typed, meant in [
    ('[', '('), (']', ')'), (' (', '('), (') ', ')'),
    ('(at)', '@'), ('(dot)', '.'), (' at ', '@'), (' dot ', '.'),
] %}
    {%- set deobfuscated.sql = "replace(%s, '%s', '%s')" % (deobfuscated.sql, typed, meant) %}
{%- endfor %}

obfuscated as (

    select
        email,
        {{ deobfuscated.sql }} as corrected_email,
        'email_deobfuscated' as correction
    from addresses
    where
        not is_email_valid
        and email not like '%@%'
        and (email like '% at %' or email like '%(at)%' or email like '%[at]%')

),

misspelt as (

    select
        addresses.email,
        split_part(addresses.email, '@', 1) || '@' || typos.meant_domain as corrected_email,
        'email_domain_typo' as correction
    from addresses
    inner join typos
        on split_part(addresses.email, '@', 2) = typos.typo_domain

),

candidates as (

    select * from obfuscated
    union all
    select * from misspelt

),

corrections as (

    select
        email,
        corrected_email,
        correction
    from candidates
    where {{ audiences.email_invalid_reason('corrected_email') }} is null

)

select * from corrections
