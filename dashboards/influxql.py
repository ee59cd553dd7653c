"""A raw InfluxQL query as a Grafana panel target.

grafana-foundation-sdk has no InfluxDB query type; this is the small one it needs. The JSON is what
Grafana's own InfluxDB query editor stores for a query typed in raw mode (``rawQuery: true``), so a
provisioned panel opens in Grafana exactly like one made by hand.
"""

from __future__ import annotations

import typing
from enum import StrEnum

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as dashboard_model

INFLUXDB_PLUGIN = "influxdb"


class ResultFormat(StrEnum):
    """How Grafana turns the answer into data frames: one frame per series, or one table."""

    TIME_SERIES = "time_series"
    TABLE = "table"


class InfluxQLQuery(cogvariants.Dataquery):
    """One raw InfluxQL target of a panel (the model; build it with :class:`InfluxQL`)."""

    def __init__(
        self, ref_id: str, query: str, result_format: ResultFormat, alias: str | None, datasource: dashboard_model.DataSourceRef
    ) -> None:
        self.ref_id = ref_id
        self.query = query
        self.result_format = result_format
        self.alias = alias
        self.datasource = datasource

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": self.datasource.to_json(),
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format.value,
        }
        if self.alias:
            payload["alias"] = self.alias
        return payload


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    """Builder of a raw InfluxQL target, in the SDK's style: ``InfluxQL(ref, uid, query).alias(...)``."""

    def __init__(self, ref_id: str, datasource_uid: str, query: str) -> None:
        self._internal = InfluxQLQuery(
            ref_id, query, ResultFormat.TIME_SERIES, None, dashboard_model.DataSourceRef(type_val=INFLUXDB_PLUGIN, uid=datasource_uid)
        )

    def build(self) -> InfluxQLQuery:
        return self._internal

    def alias(self, alias: str) -> typing.Self:
        """Series name in the legend; Grafana expands ``$tag_<key>`` and ``$col``."""
        self._internal.alias = alias
        return self

    def table(self) -> typing.Self:
        """Answer as one table (tags become columns) instead of one frame per series."""
        self._internal.result_format = ResultFormat.TABLE
        return self
