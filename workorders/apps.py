"""The Django application of the work orders (label ``workorders``)."""

from __future__ import annotations

from django.apps import AppConfig


class WorkOrdersConfig(AppConfig):
    name = "facmon.workorders"
    label = "workorders"
    verbose_name = "facmon work orders"
