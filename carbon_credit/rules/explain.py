"""Explaining a credit to the resident who earned it, from its stored trace alone.

The trace is what the rules engine wrote when it computed the credit, so the
explanation of an old credit shows the factor, source and rule version of its
time, never today's rules. Each step is a sentence in Chinese plus the values
it was made from, so a client can show the text or lay the numbers out itself.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from carbon_credit.timeutil import TZ

PERIOD_WORDS = {"day": "每日", "week": "每周", "month": "每月", "year": "每年"}
METRIC_WORDS = {"count": "次", "grams": "g CO2e", "points": "积分"}
EVIDENCE_WORDS = {"partner": "合作方数据", "worker": "社区工作者核实", "qr": "扫码签到", "self": "自行申报"}
# Units as a resident reads them; codes without a word here (km, kg, kWh) are read as they are.
UNIT_WORDS = {"trip": "次", "step": "步", "drop": "次", "item": "件", "checkin": "次", "meal": "餐"}
APPLIANCE_WORDS = {"refrigerator": "冰箱", "air_conditioner": "空调", "washing_machine": "洗衣机",
                   "water_heater": "热水器", "tv": "电视", "other": "其他"}
EFFECT_WORDS = {"ok": "未超出", "clipped": "已达上限，超出部分不计", "capped": "已超出上限，本次不计"}
METHOD_WORDS = {"per_unit": "按单位减排因子计算", "points_only": "只计积分、不计碳减排",
                "appliance_kwh": "按家电年节电量 × 电网排放因子计算"}


def _num(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return Decimal(0)


def fmt(value) -> str:
    """A number as a person writes it: 46.80 -> 46.8, 12.000 -> 12."""
    text = format(_num(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _unit(code: str | None) -> str:
    return UNIT_WORDS.get(code, code or "")


def _local_day(iso: str | None) -> str | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso).astimezone(TZ).date().isoformat()


def _rule_set_step(trace: dict) -> dict:
    info = trace.get("rule_set") or {}
    since = _local_day(info.get("effective_from"))
    text = f"适用规则版本 v{info.get('version')}" + (f"，自 {since} 起生效" if since else "")
    return {"step": "rule_set", "text": text, "version": info.get("version"), "rule_set_id": info.get("id"),
            "effective_from": info.get("effective_from")}


def _per_unit_steps(trace: dict) -> list[dict]:
    factor = trace.get("factor") or {}
    unit, per = factor.get("unit") or trace.get("unit"), factor.get("grams_per_unit")
    quantity, base = trace.get("quantity"), trace.get("grams_before_weight")
    return [
        {"step": "factor", "text": f"减排因子 {fmt(per)} g CO2e/{_unit(unit)}，来源：{factor.get('source') or '未注明'}",
         "method": "per_unit", "unit": unit, "grams_per_unit": per, "source": factor.get("source")},
        {"step": "base", "text": f"{fmt(quantity)} {_unit(unit)} × {fmt(per)} g/{_unit(unit)} = {fmt(base)} g CO2e",
         "quantity": quantity, "unit": unit, "grams": base},
    ]


def _points_only_steps(trace: dict) -> list[dict]:
    detail = trace.get("points_only") or {}
    per, quantity, unit = detail.get("points_per_unit"), trace.get("quantity"), trace.get("unit")
    fixed = _num(quantity) * _num(per)
    return [
        {"step": "factor", "text": f"该行为只计积分、不计碳减排（0 g），依据：{detail.get('source') or '未注明'}",
         "method": "points_only", "points_per_unit": per, "source": detail.get("source"), "grams_claimed": "0"},
        {"step": "base", "text": f"{fmt(quantity)} {_unit(unit)} × {fmt(per)} 积分/{_unit(unit)} = {fmt(fixed)} 积分",
         "quantity": quantity, "unit": unit, "points": str(fixed)},
    ]


def _appliance_steps(trace: dict) -> list[dict]:
    detail = trace.get("appliance") or {}
    quantity = trace.get("quantity")
    if "baseline_kwh" in detail:
        saved = _num(detail["baseline_kwh"]) - _num(detail["label_kwh"])
        return [
            {"step": "factor", "text": f"电网排放因子 {fmt(detail['grid_g_per_kwh'])} g CO2/kWh，来源："
                                       f"{detail.get('grid_source') or '未注明'}",
             "method": "appliance_kwh", "grid_g_per_kwh": detail["grid_g_per_kwh"],
             "source": detail.get("grid_source"), "category": detail.get("category")},
            {"step": "base", "text": f"{fmt(quantity)} 件 × (基准 {fmt(detail['baseline_kwh'])} kWh − 能效标识 "
                                     f"{fmt(detail['label_kwh'])} kWh) × {fmt(detail['grid_g_per_kwh'])} g/kWh × "
                                     f"{fmt(detail['years'])} 年 = {fmt(trace.get('grams_before_weight'))} g CO2e",
             "quantity": quantity, "baseline_kwh": detail["baseline_kwh"], "label_kwh": detail["label_kwh"],
             "saved_kwh": str(saved), "years": detail["years"], "grams": trace.get("grams_before_weight")},
        ]
    fallback = detail.get("fallback_points")
    return [
        {"step": "factor", "text": f"「{APPLIANCE_WORDS.get(detail.get('category'), detail.get('category')) or '该类'}」家电尚未设置基准耗电量：每件 {fmt(fallback)} 积分，"
                                   "不计碳减排（0 g）", "method": "appliance_kwh", "category": detail.get("category"),
         "fallback_points": fallback, "grams_claimed": "0"},
        {"step": "base", "text": f"{fmt(quantity)} 件 × {fmt(fallback)} 积分 = {fmt(_num(quantity) * _num(fallback))} 积分",
         "quantity": quantity, "points": str(_num(quantity) * _num(fallback))},
    ]


METHOD_STEPS = {"per_unit": _per_unit_steps, "points_only": _points_only_steps, "appliance_kwh": _appliance_steps}


def _weight_step(trace: dict) -> dict:
    weight, evidence = trace.get("evidence_weight"), trace.get("evidence")
    weighted = _num(trace.get("grams_before_weight")) * _num(weight)
    text = f"证据：{EVIDENCE_WORDS.get(evidence, evidence)}，权重 {fmt(weight)}"
    if _num(trace.get("grams_before_weight")) > 0:
        text += f"：{fmt(trace.get('grams_before_weight'))} g × {fmt(weight)} = {fmt(weighted)} g"
    elif trace.get("method") != "per_unit":
        text += "（固定积分同样按权重计算）"
    return {"step": "evidence_weight", "text": text, "evidence": evidence, "weight": weight, "grams": str(weighted)}


def _cap_measure(cap: dict, unit: str | None) -> str:
    return METRIC_WORDS.get(cap.get("metric"), cap.get("metric")) if cap.get("metric") != "units" else _unit(unit)


def _cap_words(cap: dict, unit: str | None) -> str:
    """A cap as a resident reads it, by what it limits (its name is an admin's identifier, not a word)."""
    period = PERIOD_WORDS.get(cap.get("period"), cap.get("period"))
    return f"{period}上限 {fmt(cap.get('limit'))} {_cap_measure(cap, unit)}"


def _cap_step(cap: dict, unit: str | None) -> dict:
    effect, measure = cap.get("effect"), _cap_measure(cap, unit)
    text = (f"{_cap_words(cap, unit)}：此前已用 {fmt(cap.get('used_before'))} {measure}，"
            f"{EFFECT_WORDS.get(effect, effect)}")
    return {"step": "cap", "text": text, "name": cap.get("name"), "period": cap.get("period"),
            "metric": cap.get("metric"), "used": cap.get("used_before"), "limit": cap.get("limit"), "effect": effect}


def _points_step(trace: dict) -> dict:
    per_gram = trace.get("points_per_gram")
    text = f"积分 = 克数 × 每克 {fmt(per_gram)} 积分"
    if trace.get("method") != "per_unit":
        text += " + 固定积分"
    return {"step": "points", "text": text, "points_per_gram": per_gram}


def _adjustment_step(adj: dict) -> dict:
    """The label already names the campaign and its bonus; the text adds only the arithmetic."""
    sign = "×" if adj.get("kind") == "multiplier" else "+"
    label = adj.get("label") or "活动加成"
    text = (f"{label}：{fmt(adj.get('points_before'))} {sign} {fmt(adj.get('value'))} = "
            f"{fmt(adj.get('points_after'))} 积分")
    return {"step": "adjustment", "text": text, "kind": adj.get("kind"), "value": adj.get("value"),
            "label": adj.get("label"), "points_before": adj.get("points_before"),
            "points_after": adj.get("points_after"), "ref": adj.get("ref") or {}}


def _cap_grams_step(trace: dict) -> list[dict]:
    """When a points cap refused part of the carbon's own points, the grams were cut in the same share."""
    share = trace.get("points_cap_grams")
    if not share:
        return []
    text = (f"积分上限只放行碳减排积分 {fmt(share.get('carbon_points'))} 中的 {fmt(share.get('points_let_through'))}"
            f"（活动奖励积分先被扣除）：减排量按同一比例计，{fmt(share.get('grams_before'))} → "
            f"{fmt(share.get('grams_after'))} g CO2e（向下取整）")
    return [{"step": "cap_grams", "text": text, "carbon_points": share.get("carbon_points"),
             "points_let_through": share.get("points_let_through"), "grams_before": share.get("grams_before"),
             "grams_after": share.get("grams_after")}]


BUDGET_EFFECTS = {
    "within": "未超出，积分照发",
    "clipped": "预算只剩 {headroom} 分，超出部分不计",
    "stopped": "预算已用完，本次不计积分",
    "scaled": "超出预算的部分按 × {scale} 计",
}


def _budget_line(entry: dict, action_type_name: str) -> str:
    month = entry.get("month") or ""
    year, _, number = month.partition("-")
    when = f"{year}年{int(number)}月" if number.isdigit() else "本月"
    scope = action_type_name if entry.get("action_type") else "所有行为"
    headroom = max(0, int(_num(entry.get("limit")) - _num(entry.get("issued_before"))))
    effect = BUDGET_EFFECTS.get(entry.get("effect"), "按预算调整").format(
        headroom=headroom, scale=fmt(entry.get("scale_factor")))
    return (f"{when}{scope}积分预算 {fmt(entry.get('limit'))} 分，此前已发放 {fmt(entry.get('issued_before'))} 分："
            f"{effect}（{fmt(entry.get('points_before'))} → {fmt(entry.get('points_after'))} 积分）")


def _budget_step(budget: dict, action_type_name: str) -> dict:
    lines = [_budget_line(entry, action_type_name) for entry in budget.get("applied") or []]
    text = "；".join(lines) or "积分预算"
    text += "。预算只影响积分，减排克数照常记录"
    return {"step": "budget", "text": text, "points_before": budget.get("points_before"),
            "points_after": budget.get("points_after"), "applied": budget.get("applied") or []}


# Steps a plug-in adds to the trace after the engine, by trace key. A key without a step here is
# kept in the stored trace for audits but not shown: residents never read raw data.
EXTRA_STEPS = {"budget": _budget_step}


def _extra_steps(trace: dict, action_type_name: str) -> list[dict]:
    return [EXTRA_STEPS[key](value, action_type_name) for key, value in trace.items()
            if key in EXTRA_STEPS and isinstance(value, dict)]


def _summary(name: str, trace: dict, status: str) -> str:
    quantity, unit = fmt(trace.get("quantity")), _unit(trace.get("unit"))
    version = (trace.get("rule_set") or {}).get("version")
    if status == "capped":
        caps = [_cap_words(c, unit) for c in trace.get("caps") or [] if c.get("effect") != "ok"]
        return (f"{name} {quantity} {unit}：已达{'、'.join(caps) or '上限'}，记录为封顶，"
                f"0 g CO2e、0 积分（规则 v{version}）")
    return f"{name} {quantity} {unit}：减排 {trace.get('grams', 0)} g CO2e，获得 {trace.get('points', 0)} 积分（规则 v{version}）"


def explain_credit(credit, action_type_name: str) -> dict:
    """``{"summary", "steps"}`` for a credit, built from its stored trace."""
    trace = credit.trace or {}
    steps = [_rule_set_step(trace)]
    method = trace.get("method")
    steps.append({"step": "method", "text": f"计算方法：{METHOD_WORDS.get(method, method)}", "method": method})
    steps += METHOD_STEPS.get(method, lambda _t: [])(trace)
    steps.append(_weight_step(trace))
    steps += [_cap_step(cap, trace.get("unit")) for cap in trace.get("caps") or []]
    steps.append(_points_step(trace))
    steps += [_adjustment_step(adj) for adj in trace.get("adjustments") or []]
    steps += _cap_grams_step(trace)
    steps += _extra_steps(trace, action_type_name)
    steps.append({"step": "rounding", "text": "克数与积分均向下取整为整数（不多计）",
                  "rule": trace.get("rounding")})
    result = f"结果：{credit.grams} g CO2e，{credit.points} 积分"
    if credit.status == "capped":
        result += "（超出上限，记录为封顶）"
    steps.append({"step": "result", "text": result, "status": credit.status, "grams": credit.grams,
                  "points": credit.points, "rule_version": credit.rule_version})
    return {"summary": _summary(action_type_name, trace, credit.status), "steps": steps}
