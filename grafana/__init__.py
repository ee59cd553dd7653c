"""Grafana, provisioned as code: where facmon's dashboards (``dashboards``) and alerting (``alerts``)
meet, the two parts that may not import each other.

- ``provisioning``: the provisioning folder ``facmon grafana export`` writes (datasource, dashboard
  provider and dashboards, alerting), every file checked before any is written.
- ``check``: those files read as Grafana 11 reads them, with Go's own parsers (``check/main.go``).
- ``push``: the same objects through Grafana's HTTP API (``facmon grafana push``).
"""
