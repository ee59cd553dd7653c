"""Energy and maintenance analytics: meter validation and rollups, indicators, baselines and savings,
fault detection, scores. Reads raw measurements from InfluxDB and writes derived ones back (docs/architecture.md#data-flow).
Built by the energy-analytics and fault-detection issues; nothing here yet."""
