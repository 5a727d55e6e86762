"""Every word the console shows that is not in a template: error messages and labels, in Chinese.

Domain errors carry a stable ``code``; what each means in Chinese is carbon_credit.texts'
table, shared by every face.
Field messages from the domain are English sentences for the API: the ones a
form can meet are translated by pattern, and anything unforeseen still reads
as Chinese (a general sentence naming the field).
"""
from __future__ import annotations

import re

from carbon_credit.texts import error_text as domain_error_text
from carbon_credit.texts import kilograms

# The console's own situations; domain error codes read from carbon_credit.texts, like every face.
CONSOLE_ERRORS = {
    "csrf": "页面已过期或缺少安全校验，请刷新页面后重试。",
    "signed_out": "您已退出登录，或登录已失效，请重新登录。",
}


def chart_kg(grams) -> float:
    """What a chart plots for an amount of carbon: kilograms to the tenth its tooltip shows, rounded down."""
    return float(kilograms(grams, 1))


FIELDS = {
    "title": "标题", "description": "简介", "cover_text": "封面文字", "community_ids": "社区",
    "visible_from": "展示开始", "visible_until": "展示结束", "active_from": "开始日期", "active_until": "结束日期",
    "action_types": "计入的行为", "multipliers": "积分倍数", "first_action_bonus": "首次参与奖励",
    "checkin_points": "签到积分", "checkin_daily_limit": "每日签到次数", "checkin_total_limit": "签到总次数",
    "checkin_qr": "签到二维码", "kind": "类型", "points_cost": "所需积分", "stock": "库存",
    "per_resident_limit": "每人限兑", "active": "上架", "communities": "负责的社区", "username": "用户名",
    "points_limit": "积分额度", "mode": "用完后", "scale_factor": "折减比例", "action_type": "适用行为", "name": "名称",
    "station_ids": "运营的站点", "community_id": "所在社区", "partner_id": "运营的合作方", "address": "地址", "remind_days_before": "提前提醒天数", "password": "新密码", "note": "理由",
}

# (pattern of the domain's English message, Chinese with the groups in {0}, {1} …)
MESSAGES = [
    (r"required", "必填"),
    (r"must be after (\w+)", "必须晚于开始时间"),
    (r"the visible window must contain the active window.*", "展示时间必须覆盖活动时间"),
    (r"the reminder must fall inside the active window", "提醒时间必须在活动期间内"),
    (r"must be a whole number from (\d+) to (\d+)", "须为 {0} 到 {1} 之间的整数"),
    (r"must be greater than 1 and at most (\S+)", "须大于 1 且不超过 {0}"),
    (r"must be at least the daily limit", "不能少于每日签到次数"),
    (r"a check-in QR needs check-in points", "设置签到二维码需要先设置签到积分"),
    (r"name the action types that qualify.*", "请选择计入的行为"),
    (r"at most (\d+) characters", "最多 {0} 个字"),
    (r"name at least one community", "请至少选择一个社区"),
    (r"no such community", "社区不存在或不在您的范围内"),
    (r"unknown action type", "未知的行为类型"),
    (r"Must be at least (\d+) characters\.", "至少 {0} 个字符"),
    (r"must be a whole number above 0", "须为大于 0 的整数"),
    (r"must be a whole number, 0 or more", "须为 0 或以上的整数"),
    (r"must be at least 1, or empty for no limit", "至少为 1，不限请留空"),
    (r"unknown ids .*", "社区不存在或不在您的范围内"),
    (r"must be one of .*", "请从列表中选择"),
    (r"Must not be the username\.", "不能与用户名相同"),
    (r"every factor needs its source citation", "每个系数都要注明来源"),
    (r"the factor changes from (\S+) to (\S+): cite the source of the new value \(this one cites the old\)",
     "系数由 {0} 改为 {1}：请注明新数值的来源（现在的来源引用的是旧数值）"),
    (r"must be a number ≥ 0", "须为 0 或以上的数"),
    (r"must be a number from 0 to 1000", "须在 0 到 1000 之间"),
    (r"a weight lies between 0 and 1", "权重须在 0 到 1 之间"),
    (r"must be ≥ 0", "须为 0 或以上的数"),
    (r"must be > 0 and ≥ min_quantity", "须大于 0 且不小于最小数量"),
    (r"say why this behaviour earns points only", "请说明为什么该行为只计积分"),
    (r"a per-unit rule needs at least one factor", "按单位计算的规则至少需要一个系数"),
    (r"unknown method; .*", "未知的计算方法"),
    (r"unknown action type.*", "未知的行为类型"),
    (r"cap names must be unique", "上限名称不能重复"),
    (r"must be now or later", "生效时间不能早于现在（已入账的积分不会改变）"),
    (r"one of .*", "请从列表中选择"),
    (r"not a rule field", "不是规则的字段"),
    (r"A worker needs at least one community\.", "社区工作者至少要负责一个社区"),
    (r"Must be one of .*", "请从列表中选择"),
    (r"Must differ\.", "新密码不能与原密码相同"),
    (r"scale needs a factor with 0 < factor < 1", "按比例折减须填写 0 到 1 之间（不含）的比例"),
    (r"only the scale mode takes a factor", "只有“按比例折减”需要填写比例"),
    (r"unknown action types: .*", "包含未知的行为类型"),
    (r"unknown stations: .*", "包含不存在的站点"),
    (r"unknown community", "社区不存在或不在您负责的范围内"),
    (r"unknown partner", "合作方不存在"),
]


def error_text(code: str, **context) -> str:
    if code in CONSOLE_ERRORS:
        return CONSOLE_ERRORS[code]
    return domain_error_text(code, **context)


def field_message(message: str) -> str:
    for pattern, chinese in MESSAGES:
        match = re.fullmatch(pattern, message.strip())
        if match:
            return chinese.format(*match.groups())
    return "填写不符合要求"


def field_errors(errors: dict | None) -> dict[str, list[str]]:
    """The domain's {field: [messages]} as {top-level field: [Chinese messages]}."""
    result: dict[str, list[str]] = {}
    for name, messages in (errors or {}).items():
        field = name.split(".", 1)[0]
        result.setdefault(field, []).extend(field_message(m) for m in messages)
    return result


def field_label(name: str) -> str:
    return FIELDS.get(name, name)


STATUS = {"draft": "草稿", "published": "已发布", "running": "进行中", "ended": "已结束", "cancelled": "已取消"}
ROLE = {"admin": "管理员", "worker": "社区工作者"}
CATEGORY = {"transit": "绿色出行", "walking": "步行", "waste": "垃圾分类与回收", "appliance": "节能家电",
            "energy": "节约用电", "community": "社区活动"}
UNIT = {"km": "公里", "trip": "次", "step": "步", "kg": "千克", "drop": "次", "item": "件", "kWh": "千瓦时",
        "checkin": "次"}
APPLIANCE = {"refrigerator": "冰箱", "air_conditioner": "空调", "washing_machine": "洗衣机", "water_heater": "热水器",
             "tv": "电视", "other": "其他家电"}
REWARD_KIND = {"coupon": "优惠券", "transit_credit": "乘车优惠", "goods": "实物", "donation": "公益捐赠"}
REDEMPTION_STATUS = {"issued": "待使用", "used": "已核销", "cancelled": "已取消"}
WEIGH_CATEGORY = {"paper": "纸类", "plastic": "塑料", "metal": "金属", "glass": "玻璃", "textiles": "旧衣物",
                  "kitchen_waste": "厨余垃圾"}


RULE_FIELDS = {"method": "计算方法", "factors": "减排系数", "points_per_gram": "每克折算积分",
               "points_per_unit": "每单位积分", "evidence_weights": "证据权重", "min_quantity": "最小数量",
               "max_quantity": "单次最多数量", "params": "参数", "source": "来源", "grams_per_unit": "减排量",
               "unit": "单位", "caps": "上限", "effective_from": "生效时间", "days": "试算天数"}
METHOD = {"per_unit": "按单位减排量", "points_only": "仅计积分", "appliance_kwh": "家电节电量"}
RULE_STATE = {"draft": "草稿", "scheduled": "待生效", "active": "生效中", "superseded": "已被取代",
              "discarded": "已作废"}


def rule_field(path: str, types: dict | None = None) -> str:
    """``rules.metro_ride.factors.0.source`` as 地铁出行 · 减排系数 第 1 项 · 来源."""
    parts = path.split(".")
    if parts and parts[0] == "rules":
        parts = parts[1:]
        if parts and types is not None and parts[0] in types:
            parts[0] = types[parts[0]].name
    words = []
    for part in parts:
        words.append(f"第 {int(part) + 1} 项" if part.isdigit() else RULE_FIELDS.get(part, part))
    return " · ".join(words)


def rule_problems(problems: list[dict], types: dict) -> list[str]:
    """The domain's validation problems, one Chinese sentence each."""
    return [f"{rule_field(p['field'], types)}：{field_message(p['message'])}" for p in problems]


def rule_value(value) -> str:
    """A rule's stored value as a person reads it (factors with their units and sources)."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return "；".join(rule_value(v) for v in value) or "（无）"
    if isinstance(value, dict):
        if "grams_per_unit" in value:
            unit = UNIT.get(value.get("unit"), value.get("unit"))
            return f"每{unit} {value['grams_per_unit']} 克（{value.get('source') or '无来源'}）"
        return "，".join(f"{RULE_FIELDS.get(k, k)}={rule_value(v)}" for k, v in value.items())
    if isinstance(value, str):
        return METHOD.get(value, value)
    return str(value)


def rule_change(change: dict, types: dict) -> dict:
    return {"where": rule_field(change["path"], types), "from": rule_value(change["from"]),
            "to": rule_value(change["to"])}
CAP_PERIOD = {"day": "每天", "week": "每周", "month": "每月", "year": "每年"}
CAP_METRIC = {"count": "次数", "units": "数量", "grams": "克 CO₂e", "points": "积分"}

AUDIT_VERB = {
    "action.approve": "审核通过", "action.reject": "审核驳回", "action_type.create": "新增行为类型",
    "action_type.update": "修改行为类型", "balance.adjust": "调整积分", "budget.create": "新增预算",
    "budget.delete": "删除预算", "budget.update": "修改预算", "campaign.cancel": "取消活动",
    "campaign.create": "新建活动", "campaign.end": "提前结束活动", "campaign.publish": "发布活动", "campaign.update": "修改活动",
    "card.bind": "绑定居民卡", "card.unbind": "解绑居民卡", "create_staff": "添加人员", "partner.create": "登记合作方",
    "partner.rotate_key": "更换合作方密钥", "partner.update": "修改合作方", "redemption.cancel": "取消兑换",
    "resident.block": "冻结居民", "resident.erase": "删除居民数据", "resident.refollow": "居民重新关注",
    "resident.unblock": "解冻居民", "resident.unfollow": "居民取消关注", "reward.create": "新增奖品",
    "reward.update": "修改奖品", "rule_set.activate": "启用规则", "rule_set.caps_update": "修改上限",
    "rule_set.discard": "作废规则草稿", "rule_set.draft": "新建规则草稿", "rule_set.rule_update": "修改规则",
    "staff.assign_communities": "分配社区", "staff.change_password": "修改本人密码", "staff.disable": "停用账号",
    "staff.enable": "启用账号", "staff.reset_password": "重置密码", "staff.sign_in": "登录", "staff.sign_out": "退出",
    "station.create": "新增站点", "station.update": "修改站点", "station.weigh_in": "现场称重", "voucher.use": "核销",
    "street.create": "新增街道", "street.rename": "街道改名", "community.create": "新增社区",
    "community.rename": "社区改名", "community.move": "社区调整街道",
}


def audit_verb(verb: str) -> str:
    """A verb in Chinese where one is known, with its code so a filter can still be read."""
    chinese = AUDIT_VERB.get(verb)
    return f"{chinese}（{verb}）" if chinese else verb


def audit_detail(detail: dict | None) -> str:
    """An entry's detail as short key=value pairs."""
    import json

    return "；".join(f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v}"
                    for k, v in (detail or {}).items())
ACTOR_KIND = {"staff": "工作人员", "resident": "居民", "system": "系统", "partner": "合作方"}
PARTNER_KIND = {"transit_operator": "公交地铁运营方", "bike_operator": "共享单车运营方", "smart_bin": "智能垃圾桶",
                "recycling_kiosk": "回收小屋"}
STATION_KIND = {"recycling_station": "回收站", "smart_bin": "智能垃圾桶", "kiosk": "回收小屋"}
NOTIFICATION_KIND = {"credit": "积分到账", "redemption": "兑换成功", "review_result": "审核结果", "expiry_reminder": "积分到期提醒",
                     "campaign": "活动通知", "campaign_reminder": "活动提醒"}
