"""Grafana dashboards and the InfluxDB datasource, built from the site registry.

- ``datasource``: the InfluxDB datasource (1.x / 2.x / 3.x, InfluxQL) with the fixed uid every panel and
  alert rule references.
- ``influxql``: the raw InfluxQL panel target (grafana-foundation-sdk has none).
- ``titles``: every title in Chinese and English.
- ``blocks``: template variables (``$building`` from the data, ``$vendor`` from the registry), panels, the dashboard skeleton.
- ``data_health`` (and, to come, one module per dashboard): a function ``(site, lang) -> dashboard JSON``.
- ``catalog``: the registry of dashboards; adding one is one entry there.
- ``provisioning``: ``facmon grafana export`` (file provisioning); ``push``: ``facmon grafana push`` (HTTP API).
"""
