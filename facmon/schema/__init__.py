"""facmon's InfluxDB schema: the one owner of every stored shape.

- :mod:`facmon.schema.names`: the measurement names.
- :mod:`facmon.schema.readings`: device readings (meter, ieq, equipment, weather) and their line.
- :mod:`facmon.schema.faults`: the ``fault`` measurement: the :class:`~facmon.schema.faults.Fault`
  record and its one reader and writer.
- :mod:`facmon.schema.ingest`: the collector's ``ingest_stats`` and ``ingest_rejected``.
- :mod:`facmon.schema.truth`: the simulator's ``sim_truth``.
- :mod:`facmon.schema.energy`: the consumption analysis's ``energy_interval``, ``meter_daily``,
  ``energy_daily`` and ``energy_monthly`` (columnar records, writers and readers for the bulk ones).
- :mod:`facmon.schema.scores`: ``score_energy``, ``savings`` and ``score_vendor``.
- :mod:`facmon.schema.anomalies`: the weekly review's ``anomaly``.
- :mod:`facmon.schema.reference`: ``site_building``, the registry's facts per building for Grafana.

Every part reads and writes these shapes through this package, never by hand-written InfluxQL or
line building; InfluxQL quoting lives in :mod:`facmon.store` (``quote_identifier``, ``quote_string``).
"""

from facmon.schema.anomalies import AnomalyPoint, anomaly_line, delete_anomalies
from facmon.schema.energy import (
    LINE_PRECISION,
    EnergyDaily,
    EnergyDailySeries,
    EnergyDailySum,
    EnergyIntervals,
    EnergyMonthly,
    MeterDays,
    MeterSeries,
    completeness_by_building,
    completeness_by_meter,
    days_with_totals,
    energy_daily_line,
    energy_daily_sums,
    energy_interval_lines,
    energy_monthly_line,
    estimated_interval_starts,
    hourly_consumption,
    interval_consumption,
    interval_consumption_by_building,
    last_interval_start_s,
    meter_daily_lines,
    read_energy_daily,
)
from facmon.schema.ingest import (
    IngestStats,
    RejectedInput,
    StoreProblem,
    ingest_stats_line,
    is_rejected_line,
    latest_ingest_stats,
    read_rejected,
    rejected_details,
    rejected_line,
    store_problem_text,
)
from facmon.schema.names import (
    ANOMALY,
    ENERGY_DAILY,
    ENERGY_INTERVAL,
    ENERGY_MONTHLY,
    EQUIPMENT,
    FAULT,
    IEQ,
    INGEST_REJECTED,
    INGEST_STATS,
    METER,
    METER_DAILY,
    SAVINGS,
    SCORE_ENERGY,
    SCORE_VENDOR,
    SIM_TRUTH,
    SITE_BUILDING,
    WEATHER,
)
from facmon.schema.readings import (
    EQUIPMENT_COMMON_FIELDS,
    EQUIPMENT_TYPE_FIELDS,
    FIELD_RANGES,
    MEASUREMENT_OF_KIND,
    Device,
    DeviceKind,
    allowed_fields,
    device_kind,
    device_line_prefix,
    device_tags,
    reading_line,
    stored_fields,
)
from facmon.schema.reference import (
    LABEL_VARIABLE_REGEX,
    BuildingReference,
    Gbt51161Values,
    benchmark_group,
    building_label,
    building_reference_line,
    read_building_references,
)
from facmon.schema.scores import (
    SavingsPoint,
    ScoreComponent,
    ScoreEnergy,
    ScoreVendor,
    savings_line,
    score_energy_line,
    score_vendor_line,
)
from facmon.schema.truth import SimTruth, sim_truth_line

# fmt: off
__all__ = [
    "ANOMALY", "ENERGY_DAILY", "ENERGY_INTERVAL", "ENERGY_MONTHLY", "EQUIPMENT", "FAULT", "IEQ", "INGEST_REJECTED", "INGEST_STATS",
    "METER", "METER_DAILY", "SAVINGS", "SCORE_ENERGY", "SCORE_VENDOR", "SIM_TRUTH", "SITE_BUILDING", "WEATHER",
    "EQUIPMENT_COMMON_FIELDS", "EQUIPMENT_TYPE_FIELDS", "FIELD_RANGES", "MEASUREMENT_OF_KIND", "Device", "DeviceKind",
    "allowed_fields", "device_kind", "device_line_prefix", "device_tags", "reading_line", "stored_fields",
    # ingest_stats, ingest_rejected
    "IngestStats", "RejectedInput", "StoreProblem", "ingest_stats_line", "is_rejected_line", "latest_ingest_stats", "read_rejected",
    "rejected_details", "rejected_line", "store_problem_text",
    # sim_truth
    "SimTruth", "sim_truth_line",
    # energy_interval, meter_daily, energy_daily, energy_monthly
    "LINE_PRECISION", "EnergyDaily", "EnergyDailySeries", "EnergyDailySum", "EnergyIntervals", "EnergyMonthly", "MeterDays", "MeterSeries",
    "completeness_by_building", "completeness_by_meter", "days_with_totals", "energy_daily_line", "energy_daily_sums",
    "energy_interval_lines", "energy_monthly_line", "estimated_interval_starts", "hourly_consumption", "interval_consumption",
    "interval_consumption_by_building", "last_interval_start_s", "meter_daily_lines", "read_energy_daily",
    # score_energy, savings, score_vendor
    "SavingsPoint", "ScoreComponent", "ScoreEnergy", "ScoreVendor", "savings_line", "score_energy_line", "score_vendor_line",
    # anomaly
    "AnomalyPoint", "anomaly_line", "delete_anomalies",
    # site_building
    "LABEL_VARIABLE_REGEX", "BuildingReference", "Gbt51161Values", "benchmark_group", "building_label", "building_reference_line",
    "read_building_references",
]
# fmt: on
