{#- high_propensity: likely to buy soon. With tonight's purchase propensity
    model (dim_customers.purchase_propensity), a score of at least var
    high_propensity_min_score; without it, the rule it replaces: repeat
    buyers whose last purchase is recent. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    case
        when purchase_propensity is not null
            then purchase_propensity >= {{ var('high_propensity_min_score') }}
        else
            completed_orders >= 2
            and days_since_last_order <= {{ var('high_propensity_rule_max_days_since_last_order') }}
    end
