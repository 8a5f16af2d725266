{#- churn_risk: buyers likely not to buy again. With tonight's churn risk
    model (dim_customers.churn_risk), a risk of at least var
    churn_risk_min_score among customers who have not churned yet; without
    it, the rule it replaces: buyers whose last purchase is as old as
    at_risk's. -#}

with

customers as (

    select * from {{ ref('dim_customers') }}

)

select customer_id
from customers
where
    completed_orders >= 1
    and days_since_last_order < {{ var('churned_min_days_since_last_order') }}
    and case
        when churn_risk is not null then churn_risk >= {{ var('churn_risk_min_score') }}
        else days_since_last_order >= {{ var('at_risk_min_days_since_last_order') }}
    end
