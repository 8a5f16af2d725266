{% macro prediction_cutoffs() -%}
    {#- Days before the logical date of the cut-offs int_customer_features
        keeps: 0 (scored tonight) and, per score horizon h, h (the newest
        cut-off whose outcome is known: validated on, then trained on for
        tonight's scores; on a night that reuses a stored model, its
        out-of-time check) and h + var prediction_step_days (trained on for
        the out-of-time validation), only when var prediction_training_cutoffs
        is true: the nightly run sets it false when no score is due to be
        trained (audiences.predict.retraining). -#}
    {%- set step = var('prediction_step_days') -%}
    {%- set days = [0] -%}
    {%- for horizon in [var('purchase_propensity_horizon_days'), var('churn_risk_horizon_days')] -%}
        {%- do days.append(horizon) -%}
        {%- if var('prediction_training_cutoffs', true) -%}
            {%- do days.append(horizon + step) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(days | unique | sort | list) }}
{%- endmacro %}
