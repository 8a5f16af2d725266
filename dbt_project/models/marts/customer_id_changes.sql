{#- Merges and splits between nightly runs: each record identifier that moved
    from one customer_id to another, and when. A merge retires the old id (two
    people turned out to be one); a split leaves it in use for the rest of the
    old person. -#}

with

assignments as (

    select * from {{ ref('int_customer_id_assignments') }}
    where
        change_type in ('merge', 'split')
        and identifier_type in ('crm_contact', 'shop_customer', 'guest_order')

),

changes as (

    select
        identifier_key,
        previous_customer_id,
        customer_id,
        change_type,
        assigned_as_of as changed_as_of
    from assignments

)

select * from changes
