"""Every title and label that facmon's dashboards show, in Chinese (default) and English.

One catalogue, so a translation is one edit and a missing one is caught by the tests (every key has
both languages). Keys are stable identifiers; dashboards look titles up with :func:`title`.
"""

from __future__ import annotations

from typing import Literal

from facmon.errors import FacmonError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

# key -> (中文, English)
CATALOGUE: dict[str, tuple[str, str]] = {
    "folder": ("facmon 能耗与运维监测", "facmon energy and maintenance monitoring"),
    # template variables
    "var.building": ("建筑", "Building"),
    "var.vendor": ("服务商", "Vendor"),
    "var.collector": ("采集器", "Collector"),
    # (d) data health
    "data_health": ("数据健康", "Data health"),
    "data_health.description": (
        "采集链路是否完整：各采集器接收与写入速率、拒收原因、本地缓存、代理丢弃、延迟，以及不再上报的设备。",
        "Is the collection chain whole: ingest rates per collector, rejects by reason, local spool, broker drops, lag, and devices that stopped reporting.",
    ),
    "row.collectors": ("采集器", "Collectors"),
    "row.rejects": ("拒收", "Rejected input"),
    "row.devices": ("设备在线", "Devices online"),
    "panel.ingest_rate": ("接收与写入速率", "Received and written per second"),
    "panel.ingest_rate.description": (
        "由采集器累计计数求导：接收为 MQTT 消息数/秒，写入为写入 InfluxDB 的读数/秒。",
        "Derivative of the collectors' cumulative counters: received MQTT messages/s, readings written to InfluxDB/s.",
    ),
    "series.received": ("接收", "received"),
    "series.written": ("写入", "written"),
    "panel.lag": ("延迟", "Lag"),
    "panel.lag.description": ("当前时刻与最新入库读数时间之差（秒）。", "Seconds between now and the newest stored reading."),
    "panel.spool": ("本地缓存读数", "Spooled readings"),
    "panel.spool.description": (
        "InfluxDB 不可达时读数暂存于采集器本地磁盘；缓存满时采集器停止确认消息，由代理保留积压。",
        "Readings kept on the collector's disk while InfluxDB is away; when the spool is full the collector stops acknowledging and the broker keeps the backlog.",
    ),
    "panel.spool_bytes": ("本地缓存大小", "Spool size"),
    "panel.spool_full": ("缓存已满", "Spool full"),
    "value.ok": ("正常", "ok"),
    "value.full": ("已满", "FULL"),
    "panel.broker_dropped": ("代理丢弃消息", "Messages dropped by the broker"),
    "panel.broker_dropped.description": (
        "Mosquitto 自身统计（$SYS）的丢弃消息增量：队列溢出时代理静默丢弃的消息。",
        "Increase of Mosquitto's own dropped-message count ($SYS): messages the broker dropped silently when a queue overflowed.",
    ),
    "panel.collectors": ("采集器最近状态", "Collectors, latest report"),
    "panel.rejects_by_reason": ("拒收（按原因）", "Rejected by reason"),
    "panel.rejects_by_reason.description": (
        "每条被拒收的输入都记录于 ingest_rejected，带原因与建筑；未能归属建筑的输入始终显示。",
        "Every rejected input is stored in ingest_rejected with its reason and building; input that names no known building is always shown.",
    ),
    "panel.rejects_cumulative": ("拒收累计（按采集器）", "Rejected since collector start"),
    "panel.rejects_recent": ("最近拒收", "Latest rejected input"),
    "panel.offline": ("离线设备：{kind}", "Offline: {kind}"),
    "panel.offline.description": (
        "所选时段内有过读数、但最近 {n} 个采集周期（{interval}）内没有读数的设备。",
        "Devices with readings in the chosen time range but none in the last {n} collection intervals ({interval}).",
    ),
    "panel.reporting": ("上报设备数", "Devices reporting"),
    "panel.reporting.description": (
        "每个采集周期内至少上报一次的设备数，与右侧登记数对照。",
        "Devices reporting at least once per collection interval; compare with the registered counts.",
    ),
    "panel.registered": ("登记设备数", "Registered devices"),
    "kind.meter": ("电表/水表/气表", "meters"),
    "kind.ieq": ("室内环境传感器", "indoor sensors"),
    "kind.equipment": ("机电设备", "equipment"),
    "kind.weather": ("气象站", "weather stations"),
    "column.building": ("建筑", "building"),
    "column.name": ("名称", "name"),
}


def check_lang(lang: str) -> Lang:
    """``lang`` if facmon's dashboards speak it, else a FacmonError naming the choices."""
    if lang not in LANGS:
        raise FacmonError(f"language {lang!r}: dashboards come in {', '.join(LANGS)}")
    return lang  # type: ignore[return-value]


def title(key: str, lang: Lang, **fields: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``fields``."""
    zh, en = CATALOGUE[key]
    return (zh if lang == "zh" else en).format(**fields)
