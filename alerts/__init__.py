"""Grafana alerting built from the site registry: rule groups on the `fault` measurement, contact
points per vendor, notification policies, templates, mute timings. Not built yet.

Where it plugs in (alerts/ may not import dashboards/; facmon/cli.py joins the two):
- rules query the datasource by its fixed uid ``facmon-influxdb`` (dashboards.datasource.DATASOURCE_UID)
  and live in the folder uid ``facmon`` (dashboards.catalog.FOLDER_UID);
- ``facmon grafana export`` leaves ``alerting/`` in the provisioning folder for the alerting YAML files;
- ``facmon grafana push`` plans and applies changes object by object (dashboards.push: read, compare,
  create / update / unchanged); alerting adds its own plan of rule groups (PUT .../rule-groups/{group}),
  contact points and the policy tree (PUT /policies) the same way, and the CLI runs both plans.
"""
