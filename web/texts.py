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

# The console's own situations; domain error codes read from carbon_credit.texts, like every face.
CONSOLE_ERRORS = {
    "csrf": "页面已过期或缺少安全校验，请刷新页面后重试。",
    "signed_out": "您已退出登录，或登录已失效，请重新登录。",
}


FIELDS = {
    "title": "标题", "description": "简介", "cover_text": "封面文字", "community_ids": "社区",
    "visible_from": "展示开始", "visible_until": "展示结束", "active_from": "开始日期", "active_until": "结束日期",
    "action_types": "计入的行为", "multipliers": "积分倍数", "first_action_bonus": "首次参与奖励",
    "checkin_points": "签到积分", "checkin_daily_limit": "每日签到次数", "checkin_total_limit": "签到总次数",
    "checkin_qr": "签到二维码", "kind": "类型", "points_cost": "所需积分", "stock": "库存",
    "per_resident_limit": "每人限兑", "active": "上架", "remind_days_before": "提前提醒天数", "password": "新密码", "note": "理由",
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
