{% macro quintile_score(order_by) -%}
    least(5, 1 + cast(floor(5 * percent_rank() over (order by {{ order_by }})) as integer))
{%- endmacro %}

{% macro rfm_segment(recency, frequency, monetary) -%}
    {#- The usual named RFM segments, first match wins. -#}
    case
        when {{ recency }} is null then null
        when {{ recency }} >= 4 and {{ frequency }} >= 4 and {{ monetary }} >= 4 then 'champions'
        when {{ recency }} <= 2 and {{ frequency }} >= 4 and {{ monetary }} >= 4
            then 'cannot_lose_them'
        when {{ recency }} >= 3 and {{ frequency }} >= 4 then 'loyal_customers'
        when {{ recency }} <= 2 and {{ frequency }} >= 3 then 'at_risk'
        when {{ recency }} = 5 and {{ frequency }} = 1 then 'new_customers'
        when {{ recency }} = 4 and {{ frequency }} = 1 then 'promising'
        when {{ recency }} >= 4 then 'potential_loyalists'
        when {{ recency }} = 3 and {{ frequency }} = 3 then 'need_attention'
        when {{ recency }} = 3 then 'about_to_sleep'
        when {{ recency }} = 2 then 'hibernating'
        else 'lost'
    end
{%- endmacro %}
