"""The reports' words in Chinese (the default) and English: one catalogue, looked up by key."""

from __future__ import annotations

LANGS = ("zh", "en")

CATALOGUE: dict[str, tuple[str, str]] = {
    "vendor_report": ("服务商综合考核报告", "Vendor assessment report"),
    "page": ("第 {page} 页", "page {page}"),
    "generated": ("生成于 {at}，facmon {version}", "generated {at} by facmon {version}"),
    "closed": ("已关账：{by}，{at}", "closed by {by} on {at}"),
    "open": ("未关账：数据仍可能变化，非最终结果", "open: figures may still change, not final"),
    "method": ("考核方法", "How the assessment is formed"),
    "method_text": (
        "综合得分 = 各部分得分（0–100）× 有效权重之和，保留一位小数（四舍五入），按显示的分数定等级。"
        "无证据的部分不计分，其权重按比例分给其余部分；有证据部分的权重合计低于 {min_weight} 时不评级。"
        "权重与等级为本地设定（登记表 vendor_assessment），非国家标准。",
        "Combined score = Σ part score (0-100) × effective weight, rounded to 0.1 (halves up), graded as shown. "
        "A part without evidence is unavailable and its weight is shared out over the others; below {min_weight} "
        "of the weights with evidence a vendor is not graded. Weights and grades are local settings (registry "
        "vendor_assessment), not a national standard.",
    ),
    "weights": ("权重", "Weights"),
    "grades": ("等级", "Grades"),
    "ranking": ("考核结果", "Results"),
    "chart_title": ("综合考核得分", "Combined assessment score"),
    "vendor": ("服务商", "Vendor"),
    "score": ("得分", "Score"),
    "grade": ("等级", "Grade"),
    "ungraded": ("不评级", "not graded"),
    "deduction": ("扣款（元）", "Deduction (CNY)"),
    "standing": ("名录状态", "Standing"),
    "part": ("部分", "Part"),
    "weight": ("有效权重", "Effective weight"),
    "basis": ("依据", "Rests on"),
    "unavailable": ("无数据", "unavailable"),
    "simulated": ("模拟数据", "simulated"),
    "consequence": ("合同后果", "Contract consequence"),
    "deduction_text": (
        "扣款 {amount} 元（{period}合同费用 {fee} 元的 {percent}%）",
        "deduction {amount} CNY ({percent} % of the fee of {fee} CNY for the period)",
    ),
    "no_fee": ("登记表中无合同费用，不计扣款金额", "no contract fee in the registry: no amount"),
    "warning": ("警告", "warning"),
    "not_renew": ("建议不再续约", "recommended not to renew"),
    "why": ("原因", "Why"),
    "losses": ("扣分明细", "What cost points"),
    "evidence": ("证据", "Evidence"),
    "detail": ("说明", "Detail"),
    "points_lost": ("扣分（综合）", "Points lost (combined)"),
    "no_losses": ("无扣分", "nothing lost"),
    "history": ("动态名录", "Dynamic list"),
    "period": ("期间", "Period"),
    "amendments": ("关账后的更正", "Amendments after closing"),
    "by": ("更正人", "By"),
    "record": ("记录", "Record"),
    "reason": ("原因", "Reason"),
    "explanation": ("计算", "Computation"),
    "part.measured": ("测量得分（传感器与工单）", "Measured service (sensors and work orders)"),
    "part.inspections": ("现场检查与抽查", "Inspections and spot checks"),
    "part.satisfaction": ("满意度测评", "Satisfaction surveys"),
    "part.third_party": ("第三方评价", "Third-party assessment"),
    "energy_report": ("公共机构能源消费报告", "Energy report"),
    "energy_chart_title": ("节能评分（0–100）", "Energy-saving score (0-100)"),
    "basis_note": (
        "数据来源：各建筑计量表的日用能（energy_daily），{days} 天的期间；折标煤与碳排放系数见登记表 energy_factors。"
        "本期的单位面积、人均值按有数据的天数计；年电耗由有数据的天数折算到全年，少于 {min_days} 天时为粗略估计，以 ≈ 和 ⚠ 标出。",
        "Source: each building's daily energy from its meters (energy_daily), a period of {days} days; kgce and CO₂ "
        "factors from the registry's energy_factors. Per-m² and per-person values of the period are over the days with "
        "data; the annual electricity intensity is annualised from them, a poor estimate from fewer than {min_days} days, "
        "marked ≈ and ⚠.",
    ),
    "consumption": ("用能量与强度", "Consumption and intensity"),
    "days": ("有数据天数", "Days with data"),
    "energy_by_type": ("分品种用能", "By energy type"),
    "kgce": ("折标煤 kgce", "kgce"),
    "co2_t": ("CO₂ 吨", "CO₂ t"),
    "kgce_m2": ("本期 kgce/m²", "kgce/m² (period)"),
    "kgce_person": ("本期 kgce/人", "kgce/person (period)"),
    "kwh_m2_year": ("年电耗 kWh/m²", "kWh/(m²·a)"),
    "after_hours": ("非工作时间用电", "After hours"),
    "subitems": ("分项 A/B/C/D/未计量", "Sub-items A/B/C/D/unmetered"),
    "gbt": ("GB/T 51161 修正值（引导/约束）", "GB/T 51161 corrected (guide/constraint)"),
    "not_applicable": ("不适用", "not applicable"),
    "site_total": ("全部建筑合计", "Site total"),
    "offices_total": ("办公建筑合计", "Offices total"),
    "energy_score": ("节能评分与排名", "Energy-saving score and ranking"),
    "rank": ("排名", "Rank"),
    "building": ("建筑", "Building"),
    "component": ("分项得分", "Components"),
    "not_yet": ("本报告尚未包括", "Not in this report yet"),
    "missing.last_year": ("与去年同期对比（含气候修正）", "the same month last year (weather-normalised)"),
    "missing.plan_path": ("节能规划进度", "the plan path"),
    "missing.waste": ("故障造成的浪费（kWh、m³、元）", "the waste faults caused (kWh, m³, CNY)"),
    "missing.trend": ("逐月趋势图", "the monthly trend chart"),
    "missing.heat_map": ("逐时负荷热力图", "the heat map of hourly load"),
    "energy.01": ("电", "electricity"),
    "energy.02": ("水", "water"),
    "energy.03": ("天然气", "gas"),
    "energy.04": ("热力", "district heat"),
    "energy.05": ("冷量", "district cooling"),
    "energy.06": ("其他", "other"),
    "energy.07": ("煤", "coal"),
    "energy.08": ("液化石油气", "LPG"),
    "energy.09": ("人工煤气", "manufactured gas"),
    "energy.10": ("汽油", "petrol"),
    "energy.11": ("煤油", "kerosene"),
    "energy.12": ("柴油", "diesel"),
    "energy.13": ("可再生能源", "renewables"),
    "scaled_note": (
        "合计中，有数据天数较少的建筑按其日均值折算到 {days} 天（非实测合计）",
        "buildings with fewer days of data are scaled to {days} days in this total (not a measured sum)",
    ),
    "component.intensity": ("能耗强度", "intensity"),
    "component.plan": ("规划进度", "plan"),
    "component.savings": ("节能量", "savings"),
    "component.after_hours": ("非工作时间用电", "after hours"),
    "component.completeness": ("数据完整率", "completeness"),
    "not_graded_losses": ("不评级：无综合扣分；各部分情况见上表", "not graded: no combined points; the parts are above"),
    "at": ("时间", "At"),
    "short.measured": ("测量", "Measured"),
    "short.inspections": ("检查", "Inspections"),
    "short.satisfaction": ("满意度", "Satisfaction"),
    "short.third_party": ("第三方", "Third party"),
    "standing.good_standing": ("良好", "good standing"),
    "standing.warned": ("警告", "warned"),
    "standing.not_recommended": ("不建议续约", "not recommended for renewal"),
    "flags": ("未计入", "Left out"),
}


def text(key: str, lang: str, **fields: object) -> str:
    """The words of ``key`` in ``lang`` (zh or en), with ``{name}`` filled from ``fields``."""
    zh, en = CATALOGUE[key]
    return (zh if lang == "zh" else en).format(**fields)
