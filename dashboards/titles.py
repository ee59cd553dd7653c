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
        "Is the collection chain whole: ingest rates per collector, whether InfluxDB takes their writes, rejects by reason, local "
        "spool, broker drops, lag, and devices that stopped reporting.",
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
        "Readings kept on the collector's disk while InfluxDB is away; when the spool is full the collector stops acknowledging and the "
        "broker keeps the backlog.",
    ),
    "panel.spool_bytes": ("本地缓存大小", "Spool size"),
    "panel.spool_full": ("缓存已满", "Spool full"),
    "value.ok": ("正常", "ok"),
    "value.full": ("已满", "FULL"),
    "panel.store_state": ("InfluxDB 写入状态", "InfluxDB writes"),
    "panel.store_state.description": (
        "各采集器写入 InfluxDB 是否成功，失败时的原因：磁盘已满、拒绝写入（登录、权限、数据库）、无法连接、服务端错误。"
        "失败期间读数暂存于采集器本地缓存，恢复后按序补写；该期间采集器自身的统计点也在恢复后补写，"
        "所以这里随后显示完整的故障时段。InfluxDB 不能写入时本面板收不到新数据，"
        "当前状态请在采集器主机上运行 facmon ingest status 查看。",
        "Whether InfluxDB takes each collector's writes, and why not: disk full, refused (login, permission, database), unreachable, "
        "server error. Meanwhile readings wait in the collector's spool and are written in order once InfluxDB takes them; so are the "
        "collector's own statistics of that time, so the whole period shows here afterwards. While InfluxDB takes no writes nothing new "
        "reaches this panel: `facmon ingest status` on the collectors' host shows the current state.",
    ),
    "value.store.disk_full": ("磁盘已满", "disk full"),
    "value.store.refused": ("拒绝写入", "refused"),
    "value.store.unreachable": ("无法连接", "unreachable"),
    "value.store.server_error": ("服务端错误", "server error"),
    "value.store.other": ("写入失败", "failing"),
    "panel.broker_dropped": ("代理丢弃消息", "Messages dropped by the broker"),
    "panel.broker_dropped.description": (
        "Mosquitto 自身统计（$SYS）的丢弃消息增量：队列溢出时代理静默丢弃的消息。",
        "Increase of Mosquitto's own dropped-message count ($SYS): messages the broker dropped silently when a queue overflowed.",
    ),
    "panel.collectors": ("采集器最近状态", "Collectors, latest report"),
    "panel.collectors.description": (
        "各采集器最近一次写入 InfluxDB 的统计：累计接收、写入、拒收，本地缓存的读数与字节数，延迟，以及 InfluxDB 写入状态。",
        "Each collector's latest statistics in InfluxDB: received, written and rejected since it started, readings and bytes in its "
        "spool, lag, and whether InfluxDB takes its writes.",
    ),
    "panel.rejects_by_reason": ("拒收（按原因）", "Rejected by reason"),
    "panel.rejects_by_reason.description": (
        "每条被拒收的输入都记录于 ingest_rejected，带原因与建筑；未能归属建筑的输入始终显示。",
        "Every rejected input is stored in ingest_rejected with its reason and building; input that names no known building is always "
        "shown.",
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
    "var.period": ("评价期", "Period"),
    # (a) site energy overview
    "energy": ("能耗总览", "Site energy overview"),
    "energy.description": (
        "各建筑能耗强度对照 GB/T 51161 约束值与引导值、节能规划目标进度、能耗趋势、电力分项构成、节能评分排名，以及带不确定度的节能量。",
        "Each building's energy-use intensity against the GB/T 51161 constraint and guide values, progress against the conservation "
        "plan, the energy trend, the electricity sub-item breakdown, the energy-saving score ranking, and savings with their uncertainty.",
    ),
    "row.intensity": ("能耗强度与标准", "Intensity and standards"),
    "row.plan": ("节能规划", "Conservation plan"),
    "row.trend": ("趋势与分项", "Trend and sub-items"),
    "row.score": ("评分与节能量", "Score and savings"),
    "panel.intensity": (
        "能耗强度 {klass}类{use}（约束值 {constraint}，引导值 {guide}）",
        "EUI, class {klass} {use} (constraint {constraint}, guide {guide})",
    ),
    "panel.intensity.description": (
        "GB/T 51161-2016 修正后的单位面积年用电量 kWh/(m²·a)（评分的 intensity 分项，月度期为年化值）。绿色：不高于引导值；"
        "黄色：介于引导值与约束值之间；红色：超过约束值。来源：{source}。",
        "GB/T 51161-2016 corrected annual electricity per m², kWh/(m²·a) (the score's intensity component; annualised for a month). "
        "Green: at or below the guide value; yellow: between guide and constraint; red: above the constraint. Source: {source}.",
    ),
    "use.government": ("党政机关", "government"),
    "use.commercial": ("商业办公", "commercial"),
    "building_use.office": ("办公", "office"),
    "building_use.canteen": ("食堂", "canteen"),
    "building_use.data_centre": ("数据中心", "data centre"),
    "building_use.conference": ("会议中心", "conference centre"),
    "building_use.archive": ("档案馆", "archive"),
    "building_use.other": ("其他", "other"),
    "not_applicable": ("不适用（GB/T 51161 仅适用于办公建筑）", "not applicable (GB/T 51161 covers offices only)"),
    "panel.benchmarks": ("各建筑的 GB/T 51161 指标", "GB/T 51161 values per building"),
    "column.class": ("类别", "class"),
    "column.use": ("用途", "use"),
    "column.office_use": ("办公类型", "office type"),
    "panel.benchmarks.description": (
        "各建筑的登记信息与 GB/T 51161 指标，取自 facmon analyze 按登记表写入的 site_building 数据（最近一次分析）。",
        "Each building's registry facts and GB/T 51161 values, from the site_building points facmon analyze writes from the registry "
        "(the latest analysis).",
    ),
    "panel.registered.description": (
        "各建筑登记的设备数，取自 facmon analyze 按登记表写入的 site_building 数据；表尾为合计。",
        "Devices registered per building, from the site_building points facmon analyze writes from the registry; the footer sums them.",
    ),
    "column.climate_zone": ("气候区", "climate zone"),
    "column.floor_area": ("建筑面积 m²", "floor area m²"),
    "column.guide": ("引导值 kWh/(m²·a)", "guide kWh/(m²·a)"),
    "column.constraint": ("约束值 kWh/(m²·a)", "constraint kWh/(m²·a)"),
    "panel.plan_progress": ("规划目标完成度", "Progress against the plan"),
    "panel.plan_progress.description": (
        "单位面积能耗（kgce/m²）较基准年的降幅占本年应达降幅的比例（评分 plan 分项，封顶 100%）。"
        "只比较同口径数据：整年对整年（月度期取截至该月的"
        "12 个月），且基准值与实测覆盖相同的能源类别；不满足时该建筑不显示，原因见 facmon score energy 的说明。",
        "Reduction of kgce/m² below the base year as a share of the reduction required this year (the score's plan component, capped at "
        "100 %). Only like for like: whole years (a month is judged on the twelve months ending with it) and a base covering the same "
        "energy categories as the measurements; otherwise the building is left out, and facmon score energy says why.",
    ),
    "panel.plan_table": ("规划降幅（按建筑）", "Plan reduction per building"),
    "panel.plan": ("节能规划目标", "Plan targets"),
    "plan.text": (
        "基准年 {base_year}，目标年 {target_year}；至目标年较基准年的降幅如下。本年应达降幅按基准年至目标年直线推进。",
        "Base year {base_year}, target year {target_year}; reductions below the base year by the target year below. The reduction "
        "required in a year follows a straight path from base to target year.",
    ),
    "column.indicator": ("指标", "indicator"),
    "column.reduction_by_target": ("目标年降幅", "reduction by target year"),
    "column.year": ("年份", "year"),
    "column.required": ("应达降幅", "required reduction"),
    "panel.energy_trend": ("综合能耗趋势 kgce", "Energy trend, kgce"),
    "panel.energy_trend.description": (
        "各建筑各能源类别总量（<cc>000 行）的标准煤当量之和，每个自然月一根柱（energy_monthly，记在月初）；时段从月中开始时该月不显示，"
        "默认“本年”显示全部月份。",
        "Standard-coal equivalent of each building's category totals (the <cc>000 rows), one bar per calendar month (energy_monthly, "
        "stamped at the month's start); a range starting mid-month leaves that month out, the default this year shows them all.",
    ),
    "panel.electricity_trend": ("总用电量趋势 kWh", "Main electricity trend, kWh"),
    "panel.subitems": ("电力分项构成", "Electricity by sub-item"),
    "panel.subitems.description": (
        "所选时段内各电力分项（01A10 照明插座 …）的用电量；分项是总表 01000 的组成部分，未计量部分不显示。",
        "Electricity per sub-item (01A10 lighting and sockets …) in the chosen range; sub-items are parts of the main meter 01000, the "
        "unmetered rest is not shown.",
    ),
    "panel.score_ranking": ("节能评分", "Energy-saving score"),
    "panel.score_table": ("节能评分排名与分项得分", "Score ranking and component points"),
    "panel.savings": ("节能量及其不确定度", "Savings with their uncertainty"),
    "panel.score_basis": ("评分依据：天数、来源与标记", "What each figure rests on: days, sources, flags"),
    "panel.score_basis.description": (
        "每个分项：有数据的天数 / 覆盖天数（days / period_days），flagged = 1 表示数据天数太少、年化值不可靠，source 与 target_source "
        "为数值"
        "与对照值的来源（measured 实测，configured 登记配置，national default 国家标准缺省值，facmon default 工程缺省值），"
        "savings_uncertainty 为节能率的 ± 不确定度（68% 置信）。",
        "Per component: days with data of the days covered (days / period_days); flagged = 1 marks a poor estimate (annualised from too "
        "few days); source and target_source say where the value and what it is compared with come from (measured, configured, "
        "national default, facmon default); savings_uncertainty is the ± band of the savings fraction (68 % confidence).",
    ),
    "panel.savings.description": (
        "天气归一化节能量（IPMVP 选项 C，ASHRAE Guideline 14）：节约量 ± 不确定度（68% 置信），节能率与分数不确定度 FSU；FSU > 50% "
        "为不确定（conclusive = 0）。",
        "Weather-normalised savings (IPMVP Option C, ASHRAE Guideline 14): avoided energy ± its uncertainty (68 % confidence), savings "
        "fraction and fractional savings uncertainty FSU; inconclusive (conclusive = 0) when FSU > 50 %.",
    ),
    # (b) building detail
    "building": ("建筑详情", "Building detail"),
    "building.description": (
        "单栋建筑：电表与分项用电、各区域室内环境对照 GB/T 18883、设备运行状态、当前及近期故障。",
        "One building: meters and electricity sub-items, indoor environment per zone against GB/T 18883, equipment status, active and "
        "recent faults.",
    ),
    "row.meters": ("计量", "Meters"),
    "row.ieq": ("室内环境", "Indoor environment"),
    "row.equipment": ("设备", "Equipment"),
    "row.faults": ("故障", "Faults"),
    "panel.subitem_consumption": ("分项用电 kWh", "Electricity by sub-item, kWh"),
    "panel.meters_latest": ("电表最新读数", "Meters, latest reading"),
    "panel.meter_quality": ("电表数据质量", "Meter data quality"),
    "panel.meter_quality.description": (
        "所选时段内每块表的日完整率均值、缺失与尖峰区间数、复位次数（来自 meter_daily）。",
        "Per meter over the chosen range: mean daily completeness, missing and spike intervals, resets (from meter_daily).",
    ),
    "panel.ieq": ("{quantity}（按区域）", "{quantity} per zone"),
    "panel.ieq.description": ("{band}。来源：{source}。", "{band}. Source: {source}."),
    "ieq.temperature": ("温度 °C", "Temperature °C"),
    "ieq.humidity": ("相对湿度 %", "Relative humidity %"),
    "ieq.co2": ("二氧化碳 ppm", "CO₂ ppm"),
    "ieq.pm25": ("PM2.5 µg/m³", "PM2.5 µg/m³"),
    "ieq.pm10": ("PM10 µg/m³", "PM10 µg/m³"),
    "ieq.tvoc": ("TVOC mg/m³", "TVOC mg/m³"),
    "ieq.hcho": ("甲醛 mg/m³", "Formaldehyde mg/m³"),
    "band.temperature": (
        "夏季 {summer_low}–{summer_high} °C，冬季 {winter_low}–{winter_high} °C：绿色为两季均合格，黄色为仅一季合格，红色为两季均超出",
        "summer {summer_low}–{summer_high} °C, winter {winter_low}–{winter_high} °C: green within both, yellow within one season's band, "
        "red outside both",
    ),
    "band.humidity": (
        "夏季 {summer_low}–{summer_high} %，冬季 {winter_low}–{winter_high} %：绿色为两季均合格，黄色为仅一季合格，红色为两季均超出",
        "summer {summer_low}–{summer_high} %, winter {winter_low}–{winter_high} %: green within both, yellow within one season's band, "
        "red outside both",
    ),
    "band.max": ("不高于 {limit}（{averaging}）", "at most {limit} ({averaging})"),
    "band.none": ("GB/T 18883 限值未录入 facmon", "no GB/T 18883 limit recorded in facmon"),
    "averaging.1h": ("1 小时均值", "1-hour mean"),
    "averaging.24h": ("24 小时均值", "24-hour mean"),
    "averaging.8h": ("8 小时均值", "8-hour mean"),
    "panel.equipment_status": ("设备状态", "Equipment status"),
    "panel.equipment_status.description": (
        "每台设备最新的运行状态（1 运行，0 停机）、故障代码（0 无故障）与功率 kW。",
        "Each piece of equipment's latest state (1 running, 0 stopped), fault code (0 = none) and power, kW.",
    ),
    "panel.equipment_running": ("运行设备数（按类型）", "Equipment running, per type"),
    "panel.equipment_power": ("设备功率 kW（按类型）", "Equipment power per type, kW"),
    "panel.faults_active": ("当前故障", "Active faults"),
    "panel.faults_active.description": (
        "最后一个状态点为“发生”（active = 1）的故障，不受所选时段限制。",
        "Faults whose last point is a start (active = 1), whatever the chosen range.",
    ),
    "panel.faults_recent": ("近期故障记录", "Recent fault events"),
    "panel.faults_recent.description": (
        "所选时段内的故障发生（active = 1）与恢复（active = 0）记录，最新在前。",
        "Fault starts (active = 1) and clears (active = 0) in the chosen range, newest first.",
    ),
    "value.running": ("运行", "running"),
    "value.stopped": ("停机", "stopped"),
    # (c) vendor scorecard
    "vendor": ("服务商考核", "Vendor scorecard"),
    "vendor.description": (
        "维保服务商：考核得分、SLA 达标率、恢复时间、未关闭故障与扣款。",
        "Maintenance vendors: score, SLA compliance, time to restore, open faults and deductions.",
    ),
    "row.vendor_score": ("考核得分", "Score"),
    "row.sla": ("SLA 与恢复时间", "SLA and time to restore"),
    "row.vendor_faults": ("故障", "Faults"),
    "panel.vendor_score": ("考核得分", "Vendor score"),
    "panel.vendor_components": ("分项得分与扣款", "Component points and deductions"),
    "panel.vendor_values": ("分项指标值", "Component values"),
    "panel.vendor_trend": ("逐月得分与扣款", "Score and deduction per month"),
    "series.score": ("得分", "score"),
    "series.deduction": ("扣款", "deduction"),
    "panel.sla_compliance": ("SLA 达标率（按严重程度）", "SLA compliance per severity"),
    "panel.sla_compliance.description": (
        "所选时段内发生并恢复的故障中，恢复时间不超过合同 restore_min 的比例；"
        "目标 {target}（合同考核指标，见 docs/standards.md#outsourced-services）。",
        "Share of the faults started and cleared in the chosen range that were restored within the contract's restore_min; target "
        "{target} (a contract KPI: docs/standards.md#outsourced-services).",
    ),
    "panel.restore_time": ("恢复时间", "Time to restore"),
    "panel.restore_time.description": (
        "所选时段内发生并恢复的故障从发生到恢复的时长：平均、最长与次数。",
        "From start to clear, for faults started and cleared in the chosen range: mean, longest and count.",
    ),
    "panel.sla_terms": ("合同 SLA", "Contract SLA"),
    "column.vendor": ("服务商", "vendor"),
    "column.severity": ("严重程度", "severity"),
    "column.onsite_min": ("到场时限 min", "on site within, min"),
    "column.restore_min": ("恢复时限 min", "restored within, min"),
    "panel.open_faults": ("未关闭故障", "Open faults"),
    "panel.open_faults_list": ("未关闭故障明细", "Open faults, detail"),
    "panel.faults_by_kind": ("时段内新发故障（按类型）", "Faults started in the range, per kind"),
    "row.work_orders": ("工单", "Work orders"),
    "panel.open_orders": ("待处理工单", "Open work orders"),
    "panel.open_orders.description": (
        "服务商尚未完成（待接单、已接单、已到场、已完工待验证、已重新打开）的工单数，来自工单服务写入的 work_order 时间线。",
        "Orders the vendor still owes work on (open, acknowledged, on site, resolved awaiting verification, reopened), from the "
        "work_order timeline the work-order service writes.",
    ),
    "panel.open_orders_list": ("待处理工单与 SLA 时限", "Open work orders and their SLA deadlines"),
    "panel.open_orders_list.description": (
        "每张未完成工单的当前状态，以及仍在计时的到场、恢复截止时间（空白：该计时已停止）。",
        "Each order still owed: its state, and the on-site and restore deadlines still running (blank: that clock has stopped).",
    ),
    "panel.onsite_times": ("到场用时（分钟）", "Minutes to arrive on site"),
    "panel.onsite_times.description": (
        "所选时段内到场的工单：从报修（或故障上报）到到场的平均、最长分钟数、次数与超时次数。",
        "Orders reached on site in the chosen range: mean and longest minutes from report to arrival, how many, how many late.",
    ),
    "row.vendor_assessment": ("综合考核", "Combined assessment"),
    "panel.assessment_score": ("综合考核得分（$period）", "Combined assessment score ($period)"),
    "panel.assessment_score.description": (
        "测量得分、现场检查、满意度测评与第三方评价按登记表权重合成（0–100），按等级分档着色：{bands}。"
        "无证据的部分不计分，其权重按比例分给其余部分。由 facmon score vendors --combined 写入 vendor_assessment。",
        "The measured score, inspections, satisfaction surveys and the third party's score weighed by the registry's weights "
        "(0-100), coloured by grade: {bands}. A part without evidence is unavailable and its weight is shared out. Written to "
        "vendor_assessment by facmon score vendors --combined.",
    ),
    "panel.assessment_parts": ("各部分得分与后果（$period）", "Parts and consequences ($period)"),
    "panel.assessment_parts.description": (
        "每部分的得分（0–100）与有效权重；deduction 为合同按等级的扣款（元），standing 为动态名录状态，failing_run 为连续不合格期数。",
        "Each part's score (0-100) and effective weight; deduction is the contract's deduction for the grade (CNY), standing the "
        "dynamic list's status, failing_run the failing periods in a row.",
    ),
    "panel.assessment_detail": ("扣分明细", "What cost points"),
    "panel.assessment_detail.text": (
        "每一项扣分（哪次检查的哪一项、哪份问卷的哪道题、哪项测量指标）列在工单服务的考核页面：[{url}/assessment/$period/]({url}/assessment/$period/)。"
        "服务商登录后只看到本单位的结果。",
        "Every point lost (which inspection item, which survey question, which measured component) is listed on the work-order "
        "service's assessment page: [{url}/assessment/$period/]({url}/assessment/$period/). A vendor signed in sees only its own.",
    ),
    "panel.breaches": ("时段内 SLA 超时", "SLA breaches in the range"),
    "panel.breaches.description": (
        "所选时段内发生的超时：onsite 为未按时到场，restore 为未按时恢复。",
        "Limits passed in the chosen range: onsite = not on site in time, restore = not restored in time.",
    ),
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
