{#- Tonight's predictive scores (audiences.predict): the Parquet file the
    predict step wrote, named by var scores_file. A score it did not use
    (too little history, below its AUC floor or the RFM baseline) is null.
    Without the file (a build outside the nightly DAG, or before the predict
    step) the model is empty and the score segments use their rules.
    persona is the customer's k-means cluster when personas are on
    (AUDIENCES_PERSONAS), else null. Grain: customer_id. -#}

{%- set path = var('scores_file') %}

with

scores as (

    {% if path %}
        select
            cast(customer_id as string) as customer_id,
            cast(purchase_propensity as double) as purchase_propensity,
            cast(purchase_propensity_model as string) as purchase_propensity_model,
            cast(churn_risk as double) as churn_risk,
            cast(churn_risk_model as string) as churn_risk_model,
            cast(persona as integer) as persona
        from {{ parquet_file(path) }}
    {% else %}
        select
            cast(null as string) as customer_id,
            cast(null as double) as purchase_propensity,
            cast(null as string) as purchase_propensity_model,
            cast(null as double) as churn_risk,
            cast(null as string) as churn_risk_model,
            cast(null as integer) as persona
        where 1 = 0
    {% endif %}

)

select * from scores
