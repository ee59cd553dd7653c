"""Panels grouped by building show the building's name, not only its 10-character code.

Each table and bar gauge of the officers' dashboards whose answer is grouped by the ``building`` tag
carries a second query, ``names``: each building's ``label`` ("<name> (<code>)") from the
``site_building`` points `facmon analyze` writes, grouped by the same tag; Grafana's "Config from query
results" transformation turns its rows into one value mapping code -> label on the panel's ``building``
column, and "Filter data by query refId" drops the names' own answer. Nothing is written per building.

The tests run both queries on a real InfluxDB holding an analysed site (tests/test_dashboards.py's data),
build the frames Grafana 11 builds from the answers and apply the panel's transformations as Grafana 11
applies them (:class:`GrafanaModel`, each step after the Grafana source named on it), then read what the
panel shows: each table's building cell and each bar's title is the building's label.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from facmon.dashboards import building_detail, energy_overview, vendor_scorecard
from facmon.dashboards.blocks import BAR_ROWS_LIMIT, NAMES_REF, building_names_query
from facmon.dashboards.catalog import build_dashboards
from facmon.dashboards.energy_overview import benchmark_groups
from facmon.dashboards.titles import title
from facmon.registry import Site
from facmon.schema import SITE_BUILDING
from tests.test_dashboards import A001, A002, MARCH, _answers, _expected_shapes, site_data  # noqa: F401 - site_data: the analysed site
from tests.test_grafana import ALL_CHOSEN, _run_panel_queries, health_data  # noqa: F401 - health_data: the collectors' data

OFFICERS = (energy_overview.UID, building_detail.UID, vendor_scorecard.UID)


def _intensity_keys(site: Site) -> list[str]:
    return [
        title(
            "panel.intensity",
            "en",
            klass=g.office_class.value,
            use=title(f"use.{g.office_use.value}", "en"),
            constraint=f"{g.constraint_kwh_m2:g}",
            guide=f"{g.guide_kwh_m2:g}",
        )
        for g in benchmark_groups(site)
    ]


def named_panels(site: Site) -> dict[str, set[str]]:
    """The panels (English titles) that must show names: the brief's list, per dashboard."""
    en = "en"
    return {
        energy_overview.UID: {
            *_intensity_keys(site),
            *(
                title(k, en)
                for k in (
                    "panel.plan_progress",
                    "panel.score_ranking",
                    "panel.plan_table",
                    "panel.score_table",
                    "panel.savings",
                    "panel.score_basis",
                )
            ),
        },
        building_detail.UID: {
            title(k, en) for k in ("panel.faults_active", "panel.meters_latest", "panel.meter_quality", "panel.equipment_status")
        },
        vendor_scorecard.UID: {title(k, en) for k in ("panel.open_faults_list", "panel.open_orders_list")},
    }


# -- what Grafana 11 does with the answers ------------------------------------------------------------


@dataclass
class Field:
    name: str
    values: list[Any]
    display_name_from_ds: str | None = None  # config.displayNameFromDS, set by the InfluxDB backend
    display_name: str | None = None  # config.displayName, set by e.g. organize's rename
    mappings: dict[str, str | None] = field(default_factory=dict)  # a ValueToText map: value -> text

    @property
    def kind(self) -> str:
        if self.name == "Time" and self.display_name_from_ds is None:
            return "time"
        present = [v for v in self.values if v is not None]
        return "string" if present and all(isinstance(v, str) for v in present) else "number"

    def shown_name(self) -> str:
        """getFieldDisplayName (packages/grafana-data/src/field/fieldState.ts, calculateFieldDisplayName):
        config.displayName, else config.displayNameFromDS, else (a time field) its name."""
        return self.display_name or self.display_name_from_ds or self.name

    def shown(self, value: Any) -> str:
        """The display processor with a value mapping (displayProcessor.ts / valueMappings.ts): a mapped
        value shows the mapping's text, any other its own text."""
        text = self.mappings.get(str(value)) if value is not None else None
        return text if text is not None else ("" if value is None else str(value))


@dataclass
class Frame:
    ref_id: str
    name: str
    fields: list[Field]

    @property
    def length(self) -> int:
        return len(self.fields[0].values) if self.fields else 0

    def by_name(self, name: str) -> Field:
        (found,) = [f for f in self.fields if f.shown_name() == name]
        return found


def backend_table_frames(ref_id: str, series_list: list[dict[str, Any]]) -> list[Frame]:
    """The frame Grafana 11's InfluxDB backend builds from an InfluxQL answer with ``resultFormat: table``
    (pkg/tsdb/influxdb/influxql/buffered/response_parser.go, transformRowsForTable; the datasource's
    query() hands the backend's frames on unchanged, public/app/plugins/datasource/influxdb/datasource.ts):
    no series -> no frame; else one frame named after the first series' measurement with ``Time``, one
    string field per tag key of the first series (named by the key, displayNameFromDS the key) and one field
    per further column (displayNameFromDS the column), every series' rows one after another."""
    if not series_list:
        return []
    first = series_list[0]
    fields = [Field("Time", [row[0] for s in series_list for row in s["values"]])] if first["columns"][0] == "time" else []
    for key in first.get("tags", {}):
        fields.append(Field(key, [s["tags"][key] for s in series_list for _ in s["values"]], display_name_from_ds=key))
    for index, column in enumerate(first["columns"][1:], start=1):
        fields.append(Field(column, [row[index] for s in series_list for row in s["values"]], display_name_from_ds=column))
    return [Frame(ref_id, first["name"], fields)]


# Handlers of "Config from query results" that a config field named like them gets automatically
# (fieldToConfigMapping.ts, configMapHandlers; lookUpConfigHandler(fieldName.toLowerCase())).
AUTOMATIC_HANDLERS = {"max", "min", "unit", "decimals", "color", "threshold1", "mappings.value", "mappings.color", "mappings.text"}


def config_from_data(options: dict[str, Any], frames: list[Frame]) -> list[Frame]:
    """public/app/features/transformers/configFromQuery/configFromQuery.ts (extractConfigFromQuery) with the
    value-mapping handlers of fieldToConfigMapping/fieldToConfigMapping.ts: the first frame of
    ``configRefId`` (none: the data unchanged); each mapped field reduced (``allValues`` for mappings), the
    mappings.value and mappings.text arrays combined into one ValueToText map keyed by ``str(value)``;
    the config frame left out when there are other frames (kept when it is the only one); the config set
    on every field of the other frames that ``applyTo`` matches (byName: the field's display name)."""
    config = next((f for f in frames if f.ref_id == options["configRefId"]), None)
    if config is None:
        return frames
    by_field = {m["fieldName"]: m for m in options["mappings"]}
    arrays: dict[str, list[Any]] = {}
    for config_field in config.fields:
        mapping = by_field.get(config_field.shown_name())
        if mapping is None:
            assert config_field.shown_name().lower() not in AUTOMATIC_HANDLERS, f"{config_field.shown_name()} would set config by itself"
            continue
        assert mapping.get("reducerId", "allValues") == "allValues", mapping
        arrays[mapping["handlerKey"]] = list(config_field.values)
    values, texts = arrays.get("mappings.value"), arrays.get("mappings.text")
    value_map = {str(v): (texts[i] if texts else None) for i, v in enumerate(values or []) if v is not None}
    apply_to = options["applyTo"]
    assert apply_to["id"] == "byName", apply_to
    output = []
    for frame in frames:
        if frame is config and len(frames) > 1:
            continue
        fields = [
            replace(f, mappings=value_map) if values is not None and f.shown_name() == apply_to["options"] else f for f in frame.fields
        ]
        output.append(Frame(frame.ref_id, "", fields))  # the output frame keeps fields, length and refId
    return output


def filter_by_ref_id(options: dict[str, Any], frames: list[Frame]) -> list[Frame]:
    """filterByRefId.ts with refIdMatcher.ts: a plain refId (no ``/.../``, no ``|``) matches exactly."""
    assert set(options) <= {"include", "exclude"} and not any("|" in v or v.startswith("/") for v in options.values())
    kept = [f for f in frames if "include" not in options or f.ref_id == options["include"]]
    return [f for f in kept if "exclude" not in options or f.ref_id != options["exclude"]]


def organize(options: dict[str, Any], frames: list[Frame]) -> list[Frame]:
    """organize.ts: fields excluded, renamed (config.displayName) and ordered by their display names."""
    output = []
    for frame in frames:
        fields = [f for f in frame.fields if not options.get("excludeByName", {}).get(f.shown_name())]
        order = options.get("indexByName", {})
        fields.sort(key=lambda f: order.get(f.shown_name(), len(order)))
        renamed = options.get("renameByName", {})
        fields = [replace(f, display_name=renamed[f.shown_name()]) if f.shown_name() in renamed else f for f in fields]
        output.append(Frame(frame.ref_id, frame.name, fields))
    return output


TRANSFORMERS = {"configFromData": config_from_data, "filterByRefId": filter_by_ref_id, "organize": organize}


def panel_frames(panel: dict[str, Any], answers: dict[str, list[dict[str, Any]]]) -> list[Frame]:
    """The panel's data after its transformations, from the InfluxDB answers of its targets."""
    frames: list[Frame] = []
    for target in panel["targets"]:
        assert target["resultFormat"] == "table", (panel["title"], target["refId"])
        frames += backend_table_frames(target["refId"], answers[target["refId"]])
    for step in panel.get("transformations", []):
        frames = TRANSFORMERS[step["id"]](step["options"], frames)
    return frames


def bar_titles(panel: dict[str, Any], frames: list[Frame]) -> list[str]:
    """A bar gauge with ``reduceOptions.values``: one bar per row of each numeric field, titled by
    getSmartDisplayNameForRow (packages/grafana-data/src/field/fieldDisplay.ts): the row's string cells as
    displayed (``otherField.display(value).text``, so with their value mapping), plus the field's name when
    the frame has other numeric fields or no text; at most ``reduceOptions.limit`` bars."""
    options = panel["options"]["reduceOptions"]
    assert options["values"] is True and not options.get("fields")
    titles: list[str] = []
    for frame in frames:
        for value_field in (f for f in frame.fields if f.kind == "number"):
            others = [f for f in frame.fields if f is not value_field]
            for row in range(frame.length):
                parts = [t for f in others if f.kind == "string" and (t := f.shown(f.values[row]))]
                if any(f.kind == "number" for f in others) or not parts:
                    parts.append(value_field.shown_name())
                titles.append(" ".join(parts))
    return titles[: options["limit"]]


# -- the dashboards ---------------------------------------------------------------------------------


def _panels(site: Site, uid: str, lang: str = "en") -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in build_dashboards(site, lang)[uid]["panels"] if p.get("targets")}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_panel_grouped_by_building_carries_the_names_query_and_the_mapping(example_site: Site, lang: str) -> None:
    """Exactly the tables and bar gauges answering per building (tests/test_dashboards.py's shapes, not the
    site_building tables that show the name themselves) carry the names query, in table format like their
    own queries, then configFromData (names' building -> value, label -> text, applied to the building
    field) and filterByRefId dropping the names' answer; tables title the column, bar gauges draw a bar
    per row, as many as BAR_ROWS_LIMIT."""
    shapes = _expected_shapes(example_site)
    for uid in OFFICERS:
        en_panels = _panels(example_site, uid)
        grouped = {
            t
            for t, p in en_panels.items()
            if p["type"] in ("table", "bargauge") and "building" in shapes[uid][t][0] and SITE_BUILDING not in p["targets"][0]["query"]
        }
        assert grouped == named_panels(example_site)[uid], uid
        local = list(_panels(example_site, uid, lang).values())
        for panel in (p for p, en in zip(local, en_panels.values(), strict=True) if en["title"] in grouped):
            names = [t for t in panel["targets"] if t["refId"] == NAMES_REF]
            assert [t["query"] for t in names] == [building_names_query('"building" =~ /^$building$/')], panel["title"]
            assert all(t["resultFormat"] == "table" and t["rawQuery"] is True for t in panel["targets"]), panel["title"]
            steps = panel["transformations"]
            assert steps[0] == {
                "id": "configFromData",
                "options": {
                    "configRefId": NAMES_REF,
                    "mappings": [
                        {"fieldName": "building", "handlerKey": "mappings.value", "reducerId": "allValues"},
                        {"fieldName": "label", "handlerKey": "mappings.text", "reducerId": "allValues"},
                    ],
                    "applyTo": {"id": "byName", "options": "building"},
                },
            }
            assert steps[1] == {"id": "filterByRefId", "options": {"exclude": NAMES_REF}}
            if panel["type"] == "table":
                assert steps[2:] == [
                    {
                        "id": "organize",
                        "options": {"excludeByName": {}, "indexByName": {}, "renameByName": {"building": title("column.building", lang)}},
                    }
                ]
            else:
                assert steps[2:] == []
                assert panel["options"]["reduceOptions"] == {"calcs": ["lastNotNull"], "values": True, "limit": BAR_ROWS_LIMIT}


def test_the_names_query_answers_each_analysed_buildings_label_by_code(example_site: Site, site_data: dict[str, Any]) -> None:
    """On a site `facmon analyze` ran for, the names query (as Grafana sends it, $building All or one)
    becomes a frame with the building column the panels' own frames have and the label; with All it holds
    every registry building as "<name> (<code>)"."""
    model = build_dashboards(example_site, "en")[building_detail.UID]
    panel = _panels(example_site, building_detail.UID)[title("panel.meters_latest", "en")]
    one_panel = {**model, "panels": [panel]}
    for chosen, expected in ((None, example_site.buildings), ([A001], [b for b in example_site.buildings if b.code == A001])):
        answers = _run_panel_queries(one_panel, site_data, {"building": chosen, "vendor": None})[panel["title"]]
        (names,) = backend_table_frames(NAMES_REF, answers[NAMES_REF])
        assert [f.shown_name() for f in names.fields] == ["Time", "building", "label"]
        labels = dict(zip(names.by_name("building").values, names.by_name("label").values, strict=True))
        assert labels == {b.code: f"{b.name} ({b.code})" for b in expected}
        (own,) = backend_table_frames("A", answers["A"])
        assert set(own.by_name("building").values) <= set(labels)  # the join key: the panel's codes are the names' codes


@pytest.mark.parametrize("uid", OFFICERS)
def test_every_named_panel_shows_the_building_label(example_site: Site, site_data: dict[str, Any], uid: str) -> None:
    """Each listed panel, with everything chosen, shows rows (or bars) whose building reads "<name> (<code>)":
    table cells of the building column (titled "building"), bar titles; the rows are the panel's own, one
    per row of its query, and the names' answer is not among them."""
    answers = _answers(example_site, {**site_data, "start_s": int(MARCH.timestamp())}, uid)  # All chosen, $period 2026-03
    labels = {b.code: f"{b.name} ({b.code})" for b in example_site.buildings}
    panels = _panels(example_site, uid)
    for panel_title in sorted(named_panels(example_site)[uid]):
        panel = panels[panel_title]
        own = backend_table_frames("A", answers[panel_title]["A"])
        assert own and own[0].length > 0, panel_title  # the data holds something to show
        codes = own[0].by_name("building").values
        frames = panel_frames(panel, answers[panel_title])
        assert [f.ref_id for f in frames] == ["A"], panel_title
        if panel["type"] == "table":
            column = frames[0].by_name(title("column.building", "en"))
            assert [column.shown(v) for v in column.values] == [labels[c] for c in codes], panel_title
        else:
            assert bar_titles(panel, frames) == [labels[c] for c in codes], panel_title


def test_a_panel_whose_query_answers_nothing_shows_no_building_list(example_site: Site, site_data: dict[str, Any]) -> None:
    """With no active fault in scope (A001's hvac faults are all cleared) the names query still answers,
    and Grafana keeps a config answer that is alone; filterByRefId drops it, so the table has no data
    instead of listing the buildings."""
    panel = _panels(example_site, building_detail.UID)[title("panel.faults_active", "en")]
    model = build_dashboards(example_site, "en")[building_detail.UID]
    answers = _run_panel_queries({**model, "panels": [panel]}, site_data, {"building": [A001], "vendor": ["hvac"]})[panel["title"]]
    assert answers["A"] == [] and answers[NAMES_REF] != []
    without_filter = {**panel, "transformations": panel["transformations"][:1]}
    assert [f.ref_id for f in panel_frames(without_filter, answers)] == [NAMES_REF]  # what the filter is for
    assert panel_frames(panel, answers) == []


def test_a_building_without_a_site_building_point_shows_its_code(example_site: Site, site_data: dict[str, Any]) -> None:
    """Before the first analysis wrote a building's point, its rows show the code (the mapping has no entry
    for it) and the other buildings their names; with no names at all, every row shows its code."""
    panel = _panels(example_site, building_detail.UID)[title("panel.meters_latest", "en")]
    model = build_dashboards(example_site, "en")[building_detail.UID]
    answers = _run_panel_queries({**model, "panels": [panel]}, site_data, {"building": None, "vendor": None})[panel["title"]]
    labels = {b.code: f"{b.name} ({b.code})" for b in example_site.buildings}
    without_a002 = [s for s in answers[NAMES_REF] if s["tags"]["building"] != A002]
    for names in (without_a002, []):
        (frame,) = panel_frames(panel, {**answers, NAMES_REF: names})
        column = frame.by_name(title("column.building", "en"))
        shown = {code: column.shown(code) for code in column.values}
        named = {s["tags"]["building"] for s in names}
        assert shown == {code: labels[code] if code in named else code for code in shown}
        assert shown[A002] == A002


def test_data_health_lists_offline_devices_by_building_name(example_site: Site, health_data: dict[str, Any]) -> None:
    """The offline-device tables of the data-health dashboard carry the same names query and steps, and the
    silent meter's row reads its building's label (tests/test_grafana.py's collector data)."""
    from facmon.dashboards.data_health import UID as DATA_HEALTH_UID
    from facmon.dashboards.data_health import device_kinds

    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    named = named_panels(example_site)[building_detail.UID]
    reference = next(p for p in _panels(example_site, building_detail.UID).values() if p["title"] in named and p["type"] == "table")
    offline = {title("panel.offline", "en", kind=title(f"kind.{kind.key}", "en")) for kind in device_kinds(example_site)}
    panels = {p["title"]: p for p in model["panels"] if p["title"] in offline}
    assert set(panels) == offline
    for panel in panels.values():
        assert [t["query"] for t in panel["targets"] if t["refId"] == NAMES_REF] == [building_names_query('"building" =~ /^$building$/')]
        assert panel["transformations"] == reference["transformations"]
    answers = _run_panel_queries(model, health_data, ALL_CHOSEN)
    meters = title("panel.offline", "en", kind=title("kind.meter", "en"))
    (frame,) = panel_frames(panels[meters], answers[meters])
    column = frame.by_name(title("column.building", "en"))
    building = example_site.buildings[0]
    assert [column.shown(v) for v in column.values] == [f"{building.name} ({building.code})"]
    assert frame.by_name("meter").values == [health_data["silent_meter"]]
