{#- Current email consent per address (normalised: case and spaces do not
    make another address), whoever the events belong to: when two customers
    share an address, one unsubscribe restricts the address for both
    (macros/consent.sql states the rules). -#}

{{ consent_state(ref('consent_ledger'), 'email') }}
