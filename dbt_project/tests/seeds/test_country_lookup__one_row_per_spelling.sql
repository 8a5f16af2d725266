{#- An alias that repeats an ISO code or English name would match a record twice
    and duplicate it in staging. -#}
select country_key
from ({{ country_lookup() }}) as lookup
group by country_key
having count(*) > 1
