"""The measurement names of facmon's InfluxDB schema (docs/architecture.md#the-measurement-schema).

Renaming one breaks dashboards and alert rules: change it in one commit across every part.
"""

METER = "meter"  # ingest: a meter's cumulative register and power
IEQ = "ieq"  # ingest: indoor environment per sensor
EQUIPMENT = "equipment"  # ingest: equipment status and values
WEATHER = "weather"  # ingest: outdoor temperature and humidity per building
INGEST_REJECTED = "ingest_rejected"  # ingest: input refused, with the reason (facmon.schema.ingest)
INGEST_STATS = "ingest_stats"  # ingest: each collector's own counters (facmon.schema.ingest)
SIM_TRUTH = "sim_truth"  # simulators: the faults injected on purpose (facmon.schema.truth)
ENERGY_INTERVAL = "energy_interval"  # analytics: validated 15-minute consumption per meter
METER_DAILY = "meter_daily"  # analytics: a meter's day (consumption, completeness, gaps, spikes, resets)
ENERGY_DAILY = "energy_daily"  # analytics: building × energy category × sub-item per local day
ENERGY_MONTHLY = "energy_monthly"  # analytics: energy_daily summed per local calendar month
SCORE_ENERGY = "score_energy"  # analytics: the energy-saving score per building and period
SAVINGS = "savings"  # analytics: weather-normalised savings per building and score period
SITE_BUILDING = "site_building"  # analytics: the registry's facts per building, for Grafana (facmon.schema.reference)
FAULT = "fault"  # analytics: a fault's start and clear points (facmon.schema.faults)
ANOMALY = "anomaly"  # analytics: the weekly anomaly review list; never paged
SCORE_VENDOR = "score_vendor"  # analytics: the maintenance-quality score per vendor and period
VENDOR_ASSESSMENT = "vendor_assessment"  # workorders: the combined assessment per vendor and period (facmon.schema.assessment)
WORK_ORDER = "work_order"  # workorders: each work-order event, a timeline of the database's history (facmon.schema.work_orders)
