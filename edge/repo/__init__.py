"""The appliance's SQL, one module per thing it serves (operators, custody, pickups …)."""
