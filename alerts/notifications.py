"""Where fault alerts go: contact points, message templates, mute timings and the notification
policy tree, all from the registry.

- One contact point per vendor, named ``facmon-vendor-<id>``, with one integration (Grafana:
  receiver) per registry contact (webhook, email, dingding, wecom); one for the energy office
  (``alerting.energy_office``) when it has contacts.
- The policy tree: the root sends to the energy office (or to Grafana's built-in
  ``grafana-default-email`` when the registry names no office); a first child sends every critical
  fault to the energy office and continues; then one child per vendor matches ``vendor=<id>`` and
  sends to that vendor. A fault of no vendor (``vendor=none``) falls back to the root.
- Planned maintenance windows become mute timings on the vendor routes (on a per-building child
  route when the window names buildings). Grafana does not inherit mute timings, so a building route
  repeats the vendor-wide ones; the critical route to the energy office is never muted.

API bodies (``facmon grafana push``) and provisioning files (``facmon grafana export``) differ in
shape: the API takes one ``EmbeddedContactPoint`` per integration, grouped by name; the file nests
``receivers`` under a named contact point (alerts.files).
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from facmon.alerts.rules import rule_group
from facmon.registry import Contact, MaintenanceWindow, Site, Vendor
from facmon.standards import Severity

DEFAULT_GRAFANA_RECEIVER = "grafana-default-email"  # every Grafana has it; used when no office is declared
ENERGY_OFFICE = "facmon-energy-office"
TEMPLATE_NAME = "facmon"
TITLE_TEMPLATE = '{{ template "facmon.title" . }}'
MESSAGE_TEMPLATE = '{{ template "facmon.message" . }}'
# One notification per building and vendor, whatever the fault kinds: a storm of faults in one building
# (many kinds at once) pages each responsible vendor once, listing every fault (the message template
# ranges over all the group's alerts), instead of once per kind.
GROUP_BY = ["grafana_folder", "building", "vendor"]

# The message templates (Go templates of Grafana's notifications), in Chinese. The link joins
# Grafana's root URL (ends with "/") and the rule's building_dashboard annotation; a fault with a
# vendor also links to its work order (the rule's work_order annotation), where the vendor acts. Written raw: Grafana
# stores notification templates without environment expansion (a "$$" here would be a parse error
# that stops Grafana at start-up). Times are shown in the site's zone: Alertmanager's StartsAt is UTC,
# and its 0.25 template functions have no time-zone function, so a zone with a fixed offset (China's
# has had no daylight saving since 1991) is reached by adding the offset; {zone} names it.
_MESSAGE_TEMPLATES = """\
{{{{ define "facmon.title" }}}}{{{{ if eq .Status "firing" }}}}【设施故障】{{{{ len .Alerts.Firing }}}} 条{{{{ else }}}}【故障已恢复】{{{{ len .Alerts.Resolved }}}} 条{{{{ end }}}}{{{{ end }}}}

{{{{ define "facmon.alert" }}}}{{{{ .Annotations.summary }}}}
{{{{ .Annotations.description }}}}
开始时间：{{{{ {starts} }}}}{{{{ if eq .Status "resolved" }}}}，恢复时间：{{{{ {ends} }}}}{{{{ end }}}}（{zone}）
{{{{ end }}}}

{{{{ define "facmon.message" }}}}{{{{ if gt (len .Alerts.Firing) 0 }}}}正在发生：
{{{{ range .Alerts.Firing }}}}● {{{{ template "facmon.alert" . }}}}建筑看板：{{{{ $.ExternalURL }}}}{{{{ .Annotations.building_dashboard }}}}
{{{{ if ne .Labels.vendor "none" }}}}工单（接单、到场、完工）：{{{{ .Annotations.work_order }}}}
{{{{ end }}}}{{{{ end }}}}{{{{ end }}}}{{{{ if gt (len .Alerts.Resolved) 0 }}}}已恢复：
{{{{ range .Alerts.Resolved }}}}○ {{{{ template "facmon.alert" . }}}}{{{{ end }}}}{{{{ end }}}}{{{{ end }}}}
"""  # noqa: E501 - template lines are the message's own lines, kept whole
ZONE_NAMES_ZH = {"Asia/Shanghai": "北京时间"}  # how a reader in China names the zone
_TIME_LAYOUT = '"2006-01-02 15:04"'  # Go's reference time


def _fixed_offset(zone: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset when it is the same all year over the years alerts will be read in."""
    offsets = {zone.utcoffset(datetime(year, month, 1)) for year in range(2020, 2041) for month in (1, 4, 7, 10)}
    return offsets.pop() if len(offsets) == 1 else None


def message_templates(timezone: str) -> str:
    """facmon's notification templates, showing times in ``timezone`` (an IANA name) when it has a fixed
    UTC offset, else in UTC; either way the zone is named next to the times."""
    offset = _fixed_offset(ZoneInfo(timezone))
    if offset is None:
        starts, ends, zone = f".StartsAt.Format {_TIME_LAYOUT}", f".EndsAt.Format {_TIME_LAYOUT}", "UTC"
    else:
        nanoseconds = int(offset.total_seconds()) * 10**9
        starts = f"(.StartsAt.Add {nanoseconds}).Format {_TIME_LAYOUT}"
        ends = f"(.EndsAt.Add {nanoseconds}).Format {_TIME_LAYOUT}"
        hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
        zone = ZONE_NAMES_ZH.get(timezone, f"UTC{'+' if offset >= timedelta(0) else '-'}{hours:02d}:{minutes:02d}")
    return _MESSAGE_TEMPLATES.format(starts=starts, ends=ends, zone=zone)


def vendor_contact_point(vendor_id: str) -> str:
    """The contact point (receiver) name of a vendor."""
    return f"facmon-vendor-{vendor_id}"


def _integration_uid(owner: str, index: int) -> str:
    # Grafana allows at most 40 characters; long vendor ids are hashed to stay unique and stable.
    uid = f"facmon-{owner}-{index}"
    return uid if len(uid) <= 40 else f"facmon-{hashlib.sha1(owner.encode()).hexdigest()[:16]}-{index}"


def _settings(contact: Contact) -> dict[str, Any]:
    """A contact's Grafana integration settings; every message uses facmon's templates."""
    if contact.kind == "email":
        return {"addresses": contact.address, "singleEmail": True, "subject": TITLE_TEMPLATE, "message": MESSAGE_TEMPLATE}
    if contact.kind == "dingding":
        # Grafana's DingTalk integration knows "link" and "actionCard" only and sends anything else as a
        # link card, which shows a few lines; an action card carries the whole message.
        return {"url": contact.url, "msgType": "actionCard", "title": TITLE_TEMPLATE, "message": MESSAGE_TEMPLATE}
    if contact.kind == "wecom":
        return {"url": contact.url, "msgtype": "markdown", "title": TITLE_TEMPLATE, "message": MESSAGE_TEMPLATE}
    return {"url": contact.url, "httpMethod": "POST", "title": TITLE_TEMPLATE, "message": MESSAGE_TEMPLATE}


def _integrations(name: str, owner: str, contacts: list[Contact]) -> list[dict[str, Any]]:
    return [
        {
            "uid": _integration_uid(owner, i),
            "name": name,
            "type": contact.kind,
            "settings": _settings(contact),
            "disableResolveMessage": False,
        }
        for i, contact in enumerate(contacts, start=1)
    ]


def contact_points(site: Site) -> list[dict[str, Any]]:
    """Every integration as ``POST /api/v1/provisioning/contact-points`` takes it (``EmbeddedContactPoint``);
    integrations sharing a ``name`` form one contact point."""
    points = []
    if site.alerting.energy_office:
        points += _integrations(ENERGY_OFFICE, "energy-office", site.alerting.energy_office)
    for vendor in site.vendors:
        points += _integrations(vendor_contact_point(vendor.id), f"vendor-{vendor.id}", vendor.contacts)
    return points


def office_receiver(site: Site) -> str:
    return ENERGY_OFFICE if site.alerting.energy_office else DEFAULT_GRAFANA_RECEIVER


# -- mute timings ----------------------------------------------------------------------------------


def mute_timing_name(window: MaintenanceWindow) -> str:
    return f"facmon-{window.name}"


def _month_segments(first: date, last: date) -> list[tuple[int, int, int, int]]:
    """(year, month, first day, last day) of each calendar month a date range touches."""
    segments = []
    day = first
    while day <= last:
        month_end = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        end = min(month_end, last)
        segments.append((day.year, day.month, day.day, end.day))
        day = end + timedelta(days=1)
    return segments


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}:{last}"


def mute_timing(site: Site, window: MaintenanceWindow) -> dict[str, Any]:
    """A maintenance window as a mute timing (``MuteTimeInterval``, Alertmanager's wire format): each
    time interval ANDs its fields; the intervals are ORed, one per calendar month of a dated range."""
    base: dict[str, Any] = {}
    if window.start is not None and window.end is not None:
        base["times"] = [{"start_time": f"{window.start:%H:%M}", "end_time": f"{window.end:%H:%M}"}]
    if window.weekdays:
        base["weekdays"] = [day.value for day in window.weekdays]
    base["location"] = site.site.timezone
    if window.first_day is None or window.last_day is None:
        intervals = [base]
    else:
        intervals = [
            {**base, "years": [str(year)], "months": [str(month)], "days_of_month": [_span(first, last)]}
            for year, month, first, last in _month_segments(window.first_day, window.last_day)
        ]
    return {"name": mute_timing_name(window), "time_intervals": intervals}


def mute_timings(site: Site) -> list[dict[str, Any]]:
    return [mute_timing(site, window) for window in site.alerting.maintenance_windows]


# -- the policy tree -------------------------------------------------------------------------------


def _applies(window: MaintenanceWindow, vendor: Vendor) -> bool:
    return window.vendors == "all" or vendor.id in window.vendors


def _vendor_route(site: Site, vendor: Vendor) -> dict[str, Any]:
    windows = [w for w in site.alerting.maintenance_windows if _applies(w, vendor)]
    site_wide = [mute_timing_name(w) for w in windows if w.buildings == "all"]
    route: dict[str, Any] = {"receiver": vendor_contact_point(vendor.id), "object_matchers": [["vendor", "=", vendor.id]]}
    if site_wide:
        route["mute_time_intervals"] = site_wide
    children = []
    for building in site.buildings:
        local = [mute_timing_name(w) for w in windows if w.buildings != "all" and building.code in w.buildings]
        if local:
            children.append(
                {
                    "receiver": vendor_contact_point(vendor.id),
                    "object_matchers": [["building", "=", building.code]],
                    "mute_time_intervals": site_wide + local,  # Grafana does not inherit mute timings
                }
            )
    if children:
        route["routes"] = children
    return route


def policy_tree(site: Site) -> dict[str, Any]:
    """The whole notification policy tree as ``PUT /api/v1/provisioning/policies`` takes it (``Route``)."""
    routes: list[dict[str, Any]] = []
    if site.alerting.energy_office:
        routes.append({"receiver": ENERGY_OFFICE, "object_matchers": [["severity", "=", Severity.CRITICAL.value]], "continue": True})
    routes += [_vendor_route(site, vendor) for vendor in site.vendors]
    return {"receiver": office_receiver(site), "group_by": list(GROUP_BY), "routes": routes}


@dataclass(frozen=True)
class AlertingObjects:
    """Everything facmon's alerting puts into Grafana, as the provisioning API takes it."""

    rule_group: dict[str, Any]
    contact_points: list[dict[str, Any]]
    policy_tree: dict[str, Any]
    templates: dict[str, str]  # name -> template text
    mute_timings: list[dict[str, Any]]


def alerting_objects(site: Site, folder_uid: str, datasource_uid: str) -> AlertingObjects:
    """Rules, contact points, policies, templates and mute timings from ``site``; the rules live in
    the folder ``folder_uid`` and query the datasource ``datasource_uid``."""
    return AlertingObjects(
        rule_group=rule_group(site, folder_uid, datasource_uid),
        contact_points=contact_points(site),
        policy_tree=policy_tree(site),
        templates={TEMPLATE_NAME: message_templates(site.site.timezone)},
        mute_timings=mute_timings(site),
    )
