"""Grafana dashboards and the InfluxDB datasource built from the site registry. Built by the Grafana
issue; nothing here yet."""
