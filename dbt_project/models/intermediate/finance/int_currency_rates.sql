{#- The seed's dated rates as ranges: each holds from its valid_from to the
    currency's next one; a currency's first rate also covers every earlier day
    (the documented fallback), its last every later one. -#}

with

rates as (

    select * from {{ ref('currency_rates') }}

),

ranged as (

    select
        currency,
        rate_to_eur,
        case
            when row_number() over (partition by currency order by valid_from) = 1
                then cast('0001-01-01' as date)
            else cast(valid_from as date)
        end as valid_from,
        lead(cast(valid_from as date)) over (partition by currency order by valid_from)
            as valid_to
    from rates

)

select * from ranged
