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
