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
    "invalid_card_number": "卡号只能是 8 到 20 位数字（空格和短横线可以不填），请核对卡背面的号码。",
    "card_already_bound": "这张卡已经绑定在另一个账户上。如有疑问请联系所在社区。",
    "too_many_cards": "最多只能绑定 5 张卡，请先解绑不用的卡。",
    "card_not_bound": "这张卡已经解绑了。",
    "card_key_missing": "暂时无法绑卡，请联系管理员。",
    "photo_too_large": "照片太大了（超过 5 MB），请重新拍一张或压缩后再传。没有保存任何内容。",
    "photo_required": "请拍摄或选择一张能效标识和发票的照片。",
    "unsupported_photo_type": "照片只能是 JPG 或 PNG 图片，这个文件不是图片（可能是改了后缀名的其他文件）。没有保存任何内容。",
    "not_grade_1": "只有一级能效的家电才能申报。",
    "invoice_already_claimed": "这张发票已经申报过了，同一张发票只能申报一次。",
    "appliance_category_claimed": "这类家电您今年已经申报过一次，每类每年只能申报一次。",
    "validation_error": "有几项填写不正确，请按提示修改。",
    "campaign_not_open": "这个活动现在不能报名。",
    "idempotency_key_reused": "请求重复，请返回后重新操作。",
}
GENERIC = "操作没有成功，请稍后再试。"
STATUS_WORDS = {"issued": "未使用", "used": "已核销", "cancelled": "已取消"}


def error_text(code: str) -> str:
    return ERRORS.get(code, GENERIC)
CLAIM_STATUS = {"pending": "审核中", "approved": "已通过", "rejected": "未通过", "credited": "已通过",
                "capped": "已通过（已达上限）"}
FIELD_HINTS = {
    "category": "请选择家电类别。",
    "brand": "请填写品牌。",
    "model": "请填写型号。",
    "label_kwh": "请填写能效标识上的年耗电量（千瓦时，大于 0 的数字）。",
    "invoice_no": "发票号码为 4 到 40 位字母或数字。",
    "invoice_date": "请填写开票日期，且须在 180 天以内、不晚于今天。",
    "energy_grade": "只有一级能效的家电才能申报。",
    "photo": "请拍摄或选择一张能效标识和发票的照片。",
}
SCAN_RESULTS = {
    "checked_in": "签到成功：{title}，获得 {points} 积分，当前积分 {balance}。",
    "already_checked_in": "您今天已在「{title}」签到过了，明天再来吧。",
    "limit_reached": "「{title}」的签到次数已达上限，感谢参与！",
    "not_open": "「{title}」目前不在签到时间内，请留意活动时间。",
    "outside_community": "「{title}」仅限活动所在社区的居民参加。",
    "station_visit_open": "欢迎来到{title}！投递后请工作人员称重，积分会自动到账。",
    "unknown_scene": "没有认出这个签到码：请核对二维码下方印的签到码，或扫描现场最新的二维码。",
    "inactive": "「{title}」的二维码已停用。",
    "unknown_station": "没有这个回收站点：请核对二维码下方印的签到码。",
    "station_inactive": "「{title}」已停用，请到其他站点投递。",
    "resident_inactive": "您的账户暂时无法签到，请联系社区工作人员。",
}
SCAN_OTHER = "这次签到没有成功，请稍后再试或联系现场工作人员。"
