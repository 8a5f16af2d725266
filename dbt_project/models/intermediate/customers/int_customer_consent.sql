{#- Current email consent per customer, from every consent event of every
    record and address of the person (macros/consent.sql states the rules). -#}

{{ consent_state(ref('consent_ledger'), 'customer_id') }}
