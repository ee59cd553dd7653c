"""The site registry: one YAML file describing a site's buildings, meters, sensors, equipment and vendors.

Everything in facmon reads the site through :func:`load_site`. Validation happens in two passes:
pydantic checks each entry's fields, then :meth:`Site.reference_problems` checks what refers to what
(unique ids, vendor references, coverage). Both report through :class:`SiteFileError`, which names
the file, the line, the entry and the field.

One module per section of the file; import from ``facmon.registry``, which re-exports them all:

============================ ==========================================================================
module                       holds
============================ ==========================================================================
``common``                   :data:`Identifier`, the :class:`Entry` base class, :func:`require_quoted_code`
``site``                     the root :class:`Site` with its cross-entry checks, and ``site`` (:class:`SiteInfo`)
``buildings``                ``buildings``: :class:`Building`, its meters, sensors and equipment, :class:`System`
``vendors``                  ``vendors`` and ``coverage``: contracts, SLA terms, contacts
``mqtt``                     ``mqtt``: topic prefix, device decoders, MQTT topic-filter rules
``collection``               ``collection``: reporting intervals and plausible reading times
``energy_targets``           ``energy_targets``: conservation plan, GB/T 51161 parameters
``scoring``                  ``energy_targets.scoring`` and ``vendor_scoring``: scorecard weights and rules
``energy_factors``           ``energy_factors``: kgce and CO₂ conversion factors
``alerting``                 ``alerting``: the energy office's contacts, maintenance windows
``detection``                ``detection``: fault-detector thresholds, per-site fault severities
``anomalies``                ``anomalies``: the weekly anomaly review
``work_orders``              ``work_orders``: the work-order service's address, deep links, repair requests
``assessment``               ``vendor_assessment``: the combined assessment's weights, grades, checklists, survey questions
``responsibility``           which building system and vendor a fault belongs to
``loader``                   :func:`load_site`, :func:`parse_site`, :class:`SiteFileError`, YAML with line numbers
``reference``                the Markdown reference of the file (docs/registry.md), from the field descriptions
============================ ==========================================================================
"""

from __future__ import annotations

from facmon.registry.alerting import Alerting, MaintenanceWindow, Weekday
from facmon.registry.anomalies import AnomalyReview
from facmon.registry.assessment import (
    ASSESSMENT_PARTS,
    AssessmentWeights,
    Checklist,
    ChecklistItem,
    Grade,
    SurveyQuestion,
    VendorAssessment,
)
from facmon.registry.buildings import (
    DEFAULT_SYSTEM,
    Building,
    BuildingUse,
    Equipment,
    EquipmentType,
    IeqQuantity,
    IeqSensor,
    Meter,
    System,
    WeatherQuantity,
    WeatherSensor,
    WorkingHours,
)
from facmon.registry.collection import Collection
from facmon.registry.common import Entry, Identifier, require_quoted_code
from facmon.registry.detection import Detection
from facmon.registry.energy_factors import EnergyFactors
from facmon.registry.energy_targets import BaseYearValues, EnergyPlan, EnergyTargets, EuiBenchmark, Gbt51161Parameters, PlanIndicator
from facmon.registry.loader import (
    RegistryYamlLoader,
    SiteFileError,
    duplicate_key_problems,
    load_site,
    parse_site,
    validation_error_message,
    yaml_node_at,
)
from facmon.registry.mqtt import (
    NATIVE_NAME_PATTERNS,
    SHELLY_CHANNEL_TYPES,
    DeviceDecoder,
    DeviceFormat,
    MqttTopics,
    filters_overlap,
    mqtt_filter_problem,
)
from facmon.registry.responsibility import responsible_system, responsible_vendor
from facmon.registry.scoring import (
    SCORE_COMPONENTS,
    VENDOR_COMPONENT_LABELS,
    VENDOR_SCORE_COMPONENTS,
    ScoreWeights,
    Scoring,
    VendorScoreWeights,
    VendorScoring,
)
from facmon.registry.site import Site, SiteInfo
from facmon.registry.vendors import Contact, ContractTerms, Coverage, Service, SlaTerm, Vendor
from facmon.registry.work_orders import WorkOrders

# Standard classifications that registry fields are typed with (defined in facmon.standards).
from facmon.standards import ClimateZone, OfficeHvacClass, OfficeUse, Severity

__all__ = [
    "ASSESSMENT_PARTS",
    "AssessmentWeights",
    "Checklist",
    "ChecklistItem",
    "Grade",
    "SurveyQuestion",
    "VendorAssessment",
    "DEFAULT_SYSTEM",
    "NATIVE_NAME_PATTERNS",
    "SCORE_COMPONENTS",
    "SHELLY_CHANNEL_TYPES",
    "VENDOR_COMPONENT_LABELS",
    "VENDOR_SCORE_COMPONENTS",
    "Alerting",
    "AnomalyReview",
    "BaseYearValues",
    "Building",
    "BuildingUse",
    "ClimateZone",
    "Collection",
    "Contact",
    "ContractTerms",
    "Coverage",
    "Detection",
    "DeviceDecoder",
    "DeviceFormat",
    "EnergyFactors",
    "EnergyPlan",
    "EnergyTargets",
    "Entry",
    "Equipment",
    "EquipmentType",
    "EuiBenchmark",
    "Gbt51161Parameters",
    "Identifier",
    "IeqQuantity",
    "IeqSensor",
    "MaintenanceWindow",
    "Meter",
    "MqttTopics",
    "OfficeHvacClass",
    "OfficeUse",
    "PlanIndicator",
    "RegistryYamlLoader",
    "ScoreWeights",
    "Scoring",
    "Service",
    "Severity",
    "Site",
    "SiteFileError",
    "SiteInfo",
    "SlaTerm",
    "System",
    "Vendor",
    "VendorScoreWeights",
    "VendorScoring",
    "WeatherQuantity",
    "WeatherSensor",
    "Weekday",
    "WorkOrders",
    "WorkingHours",
    "duplicate_key_problems",
    "filters_overlap",
    "load_site",
    "mqtt_filter_problem",
    "parse_site",
    "require_quoted_code",
    "responsible_system",
    "responsible_vendor",
    "validation_error_message",
    "yaml_node_at",
]
