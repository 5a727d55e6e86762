"""What the residents' pages say when something is refused, by the domain's stable error codes."""
from __future__ import annotations

ERRORS = {
    "insufficient_points": "您的积分不够兑换这个奖品。",
    "out_of_stock": "这个奖品已经兑完了。",
    "redemption_limit_reached": "这个奖品每人可兑换的次数您已用完。",
    "reward_not_available": "这个奖品现在不能兑换（可能已下架或不面向您的社区）。",
    "voucher_already_used": "这张券已经核销过了，不能再取消。",
    "redemption_cancelled": "这张券已经取消过了。",
    "resident_inactive": "您的账户已被暂停使用。",
    "idempotency_key_reused": "请求重复，请返回后重新操作。",
}
GENERIC = "操作没有成功，请稍后再试。"
STATUS_WORDS = {"issued": "未使用", "used": "已核销", "cancelled": "已取消"}


def error_text(code: str) -> str:
    return ERRORS.get(code, GENERIC)
