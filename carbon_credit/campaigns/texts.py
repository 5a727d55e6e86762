"""Every Chinese text the campaigns show residents: trace labels and publicity messages."""
from __future__ import annotations

from datetime import datetime

from carbon_credit.texts import format_carbon
from carbon_credit.timeutil import TZ


def _day(moment: datetime) -> str:
    local = moment.astimezone(TZ)
    return f"{local.month}月{local.day}日"


def multiplier_label(title: str, action_name: str, value: str) -> str:
    return f"活动「{title}」{action_name}积分×{value}"


def first_bonus_label(title: str, points: int) -> str:
    return f"活动「{title}」首次参与奖励 {points} 积分"


def checkin_label(title: str, points: int) -> str:
    return f"活动「{title}」签到 {points} 积分"


def start_text(campaign, type_names: dict) -> str:
    lines = [f"【{campaign.title}】开始啦！", campaign.summary or campaign.description,
             f"活动时间：{_day(campaign.active_from)}至{_day(campaign.active_until)}。"]
    for code, value in (campaign.multipliers or {}).items():
        lines.append(f"活动期间{type_names.get(code, code)}积分×{value}。")
    if campaign.first_action_bonus:
        lines.append(f"首次参与再送 {campaign.first_action_bonus} 积分。")
    if campaign.checkin_points:
        lines.append(f"现场扫码签到每次得 {campaign.checkin_points} 积分。")
    return "\n".join(line for line in lines if line)


def reminder_text(campaign, days_left: int) -> str:
    return (f"【{campaign.title}】还有 {days_left} 天结束（{_day(campaign.active_until)}），"
            f"抓紧参与，为社区添一份绿色！")


def results_text(campaign, participants: int, actions: int, grams: int, points: int) -> str:
    return (f"【{campaign.title}】圆满结束！共有 {participants} 位居民参与，完成绿色行动 {actions} 次，"
            f"减少碳排放 {format_carbon(grams)}，获得积分 {points}。感谢大家的参与！")
