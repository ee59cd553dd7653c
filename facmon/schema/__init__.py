"""facmon's InfluxDB schema: the one owner of every stored shape.

- :mod:`facmon.schema.names`: the measurement names.
- :mod:`facmon.schema.readings`: device readings (meter, ieq, equipment, weather) and their line.
- :mod:`facmon.schema.faults`: the ``fault`` measurement: the :class:`~facmon.schema.faults.Fault`
  record and its one reader and writer.

Every part reads and writes these shapes through this package, never by hand-written InfluxQL or
line building; InfluxQL quoting lives in :mod:`facmon.store` (``quote_identifier``, ``quote_string``).
"""

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

__all__ = [
    "ANOMALY", "ENERGY_DAILY", "ENERGY_INTERVAL", "ENERGY_MONTHLY", "EQUIPMENT", "FAULT", "IEQ", "INGEST_REJECTED", "INGEST_STATS",
    "METER", "METER_DAILY", "SAVINGS", "SCORE_ENERGY", "SCORE_VENDOR", "SIM_TRUTH", "WEATHER",
    "EQUIPMENT_COMMON_FIELDS", "EQUIPMENT_TYPE_FIELDS", "FIELD_RANGES", "MEASUREMENT_OF_KIND", "Device", "DeviceKind",
    "allowed_fields", "device_kind", "device_line_prefix", "device_tags", "reading_line", "stored_fields",
]
