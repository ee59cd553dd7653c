"""Work orders (工单): every fault with a responsible vendor and every occupant's repair request (报修)
becomes an order the vendor acknowledges (接单), arrives at (到场) and resolves (完工) on the record, with
SLA timers from the registry, a return visit (回访) and an append-only history.

- :mod:`.lifecycle`: the states, actions and who may take them (pure, no database).
- :mod:`.sla`: the SLA clocks and breaches of one order (pure).
- :mod:`.models`, :mod:`.migrations`: the PostgreSQL tables (Django ORM); the database is the source of truth.
- :mod:`.orders`: every change of an order, in one transaction with its history event.
- :mod:`.fault_sync`: orders opened, reopened, verified and withdrawn from the ``fault`` measurement.
- :mod:`.timeline`: the ``work_order`` measurement in InfluxDB, written from the history (an outbox).
- :mod:`.links`: signed, expiring deep links to one order.
- :mod:`.pages`, :mod:`.api`, :mod:`.urls`: the web service (`facmon serve`) and its JSON API.
"""
