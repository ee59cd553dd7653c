"""Grafana alerting built from the site registry, on the ``fault`` measurement that ``facmon analyze`` writes.

- ``rules``: one alert rule per fault kind (InfluxQL, labels from the fault tags, Chinese annotations).
- ``notifications``: contact points per vendor and the energy office, message templates, mute timings
  from the maintenance windows, the notification policy tree; :func:`alerting_objects` gathers them.
- ``routing``: which contact points a policy tree sends an alert to (Alertmanager's walk).
- ``files``: the same objects as Grafana provisioning files.

Where it plugs in (alerts/ may not import dashboards/; grafana/ joins the two): rules query the
datasource by its fixed uid and live in facmon's folder, both passed in
(``facmon.dashboards.datasource.DATASOURCE_UID``, ``facmon.dashboards.catalog.FOLDER_UID``);
``facmon.grafana.provisioning`` writes ``alerting/*.yaml`` and ``facmon.grafana.push`` plans and applies the
alerting objects after the folder, datasource and dashboards.
"""
