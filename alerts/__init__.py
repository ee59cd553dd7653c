"""Grafana alerting built from the site registry: rule groups on the `fault` measurement, contact
points per vendor, notification policies, templates, mute timings. Built by the Grafana issue; nothing here yet."""
