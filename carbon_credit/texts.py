"""The platform's words for people, shared by every face: error codes in Chinese, and carbon amounts.

Domain errors carry a stable ``code`` and an English ``message`` for the API's
error body; the bot, the console and the residents' pages say what a code means
with ``error_text``, from the one table ``ERROR_TEXTS``. Every code the domain
raises has an entry (a test reads the source to make sure). Some entries take
context, written ``{name}``; without it the placeholder is left out.

``format_carbon`` writes grams of CO2e the same way everywhere, rounding down so
a figure shown to a resident is never more than what was measured.
"""
from __future__ import annotations

import string
from decimal import ROUND_DOWN, Decimal

ERROR_TEXTS = {
    # General
    "domain_error": "操作未能完成，请稍后重试。",
    "invalid_input": "填写的内容有误，请按提示修改。",
    "not_found": "找不到该内容，或不在您负责的社区范围内。",
    "forbidden": "您的角色不能进行此操作。",
    "conflict": "该操作与当前状态冲突，请刷新后重试。",
    "missing_field": "缺少必填内容。",
    "invalid_range": "结束时间不能早于开始时间。",
    "invalid_time": "时间格式不正确。",
    "time_in_future": "时间不能晚于现在。",
    "too_old": "时间太久远，不能再用这种方式记录。",
    "idempotency_key_reused": "这张表单已提交过其他内容，请刷新页面后重新填写。",
    # Places and people
    "street_not_found": "找不到该街道，或不在您负责的范围内。",
    "community_not_found": "找不到该社区，或不在您负责的范围内。",
    "community_required": "社区工作者只能为自己负责的社区设置奖品，请至少选择一个社区。",
    "resident_not_found": "没有找到符合条件的居民（仅限您负责的社区）。",
    "unknown_resident": "没有找到符合条件的居民（仅限您负责的社区）。",
    "resident_identifier_required": "请填写姓名和手机尾号，或填写居民卡号。",
    "invalid_resident_ref": "请只用一种方式指明居民。",
    "resident_inactive": "该账户暂时不能使用，请联系社区工作人员。",
    "resident_anonymised": "该账户已注销，不能再使用。",
    "resident_already_blocked": "该居民已被停用。",
    "resident_not_blocked": "该居民未被停用。",
    "account_not_found": "该居民还没有积分账户。",
    "invalid_phone": "手机号应为以 1 开头的 11 位数字。",
    "phone_taken": "该手机号已被其他居民使用。",
    "phone_key_missing": "服务器未配置手机号密钥，暂不能按手机号查找。",
    # Transit cards
    "card_key_missing": "服务器未配置居民卡密钥，暂不能按卡号查找。",
    "invalid_card_number": "卡号格式不正确，请核对卡面上的号码。",
    "card_already_bound": "这张卡已被其他账户绑定，如有疑问请联系社区工作人员。",
    "too_many_cards": "最多可绑定 5 张卡，请先在绑卡页面解绑不用的卡。",
    "card_not_found": "找不到这张卡。",
    "card_not_bound": "这张卡已经解绑。",
    # Staff and sign-in
    "invalid_credentials": "用户名或密码不正确，或账号已停用。",
    "too_many_sign_in_attempts": "登录尝试次数过多，为保护账号已暂停登录，请约 {minutes} 分钟后再试。",
    "wrong_password": "当前密码不正确。",
    "username_taken": "该用户名已被使用。",
    "staff_not_found": "找不到该工作人员。",
    "cannot_disable_self": "不能停用自己的账号。",
    "not_a_worker": "管理员面向所有社区，只有社区工作者需要分配社区。",
    # Actions, rules and reviews
    "unknown_action_type": "未知的行为类型。",
    "action_type_not_found": "未知的行为类型。",
    "action_type_exists": "该行为类型已存在。",
    "unit_not_supported": "该行为不使用这个计量单位。",
    "quantity_out_of_range": "数量超出该类别允许的范围。",
    "duplicate_action": "这条记录已经登记过了。",
    "not_self_reportable": "这类行为不能由居民自行申报，由合作方或工作人员记录。",
    "action_not_found": "找不到该待审核记录，或不在您负责的社区范围内。",
    "already_reviewed": "该记录已被审核过。",
    "photo_not_found": "该记录没有照片。",
    "photo_required": "请上传发票照片。",
    "photo_too_large": "发票照片不能超过 5 MB。",
    "unsupported_photo_type": "发票照片须为 JPEG 或 PNG 图片。",
    "not_grade_1": "只有一级能效家电可以获得积分。",
    "appliance_category_claimed": "今年已申报过这一类家电。",
    "invalid_invoice_no": "发票号码应为 4 到 40 位字母或数字。",
    "invoice_already_claimed": "这张发票已经申报过了。",
    "no_active_rule_set": "该时间没有生效的积分规则。",
    "rule_set_not_found": "找不到该规则版本。",
    "rule_set_frozen": "已生效的规则不能修改，请新建草稿。",
    "rule_set_invalid": "规则设置有误，请按提示修改。",
    "effective_date_conflict": "已有版本在该日期之后生效，请选择更晚的日期。",
    "invalid_preview_window": "预览天数超出允许的范围。",
    # Stations and weigh-ins
    "station_not_found": "找不到该站点，或不在您负责的社区范围内。",
    "station_inactive": "该站点已停用。",
    "station_required": "站点设备上报的数据须注明站点。",
    "station_not_allowed": "该站点不属于这个合作方。",
    "unknown_category": "请从列表中选择投放类别。",
    "category_mismatch": "投放类别与行为类型不一致。",
    # Partners and their pushes
    "partner_not_found": "找不到该合作方。",
    "partner_name_taken": "已有同名的合作方。",
    "partner_unauthorized": "请求没有合作方的有效签名。",
    "unknown_partner_key": "合作方密钥无效或已停用。",
    "signature_missing": "缺少签名所需的请求头。",
    "bad_signature": "签名与请求不符。",
    "bad_timestamp": "时间戳格式不正确。",
    "stale_timestamp": "时间戳与服务器时间相差过大。",
    "bad_nonce": "随机串格式不正确。",
    "nonce_reused": "该随机串已被使用。",
    "batch_too_large": "每批最多 500 条。",
    "attributes_too_large": "附加属性不能超过 2 KB。",
    "action_type_not_allowed": "该合作方不能上报这类行为。",
    "ingest_in_progress": "这个文件正在导入中，请等待当前导入结束。",
    "ingest_batch_timeout": "一批数据的导入超过了语句时限，已整批撤回，未写入任何内容；请检查数据库后从提示的行继续导入。",
    "bad_header": "文件首行的表头不正确，未读取任何内容。",
    # Campaigns and check-ins
    "campaign_not_found": "找不到该活动，或不在您负责的社区范围内。",
    "campaign_invalid": "活动设置有误，请按提示修改。",
    "campaign_not_draft": "活动已发布：只能修改标题、简介和封面文字。",
    "campaign_closed": "活动已结束或已取消，不能再修改。",
    "campaign_window_over": "活动时间已过，不能发布。",
    "campaign_not_open": "该活动目前不接受报名。",
    "invalid_transition": "活动当前的状态不允许此操作。",
    "campaign_not_started": "活动还没有开始，不能提前结束；不再举办请取消活动。",
    "checkin_not_open": "该活动现在不在签到时间内（或未设置签到积分）。",
    "checkin_outside_community": "该居民所在社区不在本活动范围内。",
    "checkin_already_checked_in": "该居民今天的签到次数已满。",
    "checkin_limit_reached": "该居民在本活动的签到次数已满。",
    "checkin_unknown_scene": "这个签到码无法识别。",
    "checkin_resident_inactive": "该居民的账户暂时不能签到。",
    # Points, rewards and budgets
    "insufficient_points": "积分不足。",
    "invalid_points": "扣减的积分须为正数。",
    "reward_not_found": "找不到该奖品，或不在您负责的社区范围内。",
    "reward_not_available": "该奖品现在不能兑换。",
    "out_of_stock": "该奖品已兑完。",
    "redemption_limit_reached": "已达到该奖品的每人兑换上限。",
    "redemption_not_found": "找不到该兑换记录，或不在您负责的社区范围内。",
    "redemption_cancelled": "这笔兑换已取消，券码作废。",
    "voucher_not_found": "没有这个券码，或它不属于您负责的社区。",
    "voucher_already_used": "这张券已经核销过了，不能重复使用。",
    "budget_not_found": "找不到该预算。",
    "budget_exists": "该月份已为这个范围设置了预算，请直接修改。",
    # WeChat
    "wechat_not_configured": "本服务器未配置微信公众号（WECHAT_APPID / WECHAT_SECRET），暂不能调用微信接口。",
    "wechat_api_error": "微信拒绝了请求或无法连接：{detail}",
    "wechat_unavailable": "暂时无法连接微信，请稍后再试。",
    "wechat_oauth_failed": "微信登录未成功，请从微信中重新打开页面。",
    "qr_limit_reached": "公众号的永久二维码已用完（上限 100,000 个）。",
    "staff_already_active": "该账号已经启用。",
    "street_name_taken": "已有同名的街道。",
    "community_name_taken": "该街道下已有同名的社区。",
    "staff_already_disabled": "该账号已经停用。",
}
GENERIC_ERROR = "操作未能完成，请稍后重试。（{code}）"


def error_text(code: str, **context) -> str:
    """The Chinese sentence for a domain error code; placeholders without context are left out."""
    text = ERROR_TEXTS.get(code)
    if text is None:
        return GENERIC_ERROR.format(code=code)
    values = {name: "" for _, name, _, _ in string.Formatter().parse(text) if name}
    values.update(context)
    return text.format(**values) if values else text


GRAMS_PER_KILOGRAM = 1000


def format_carbon(grams) -> str:
    """Grams of CO2e for people: "850 克" below a kilogram, else kilograms to two decimals, rounded down.

    1,999 g reads "1.99 千克", never "2 千克"; trailing zeros go ("1.5 千克", "2 千克").
    """
    grams = int(grams or 0)
    if abs(grams) < GRAMS_PER_KILOGRAM:
        return f"{grams} 克"
    kilograms = (Decimal(grams) / GRAMS_PER_KILOGRAM).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    text = f"{kilograms:,.2f}".rstrip("0").rstrip(".")
    return f"{text} 千克"


def kilograms(grams, places: int = 1) -> Decimal:
    """Grams of CO2e as kilograms cut to ``places`` decimals, rounded down: 1,999 g is 1.9 kg, never 2.0.

    The one rounding of carbon amounts for tables, figures and charts, so no page shows more
    carbon than was avoided (``format_carbon`` is the same rule for sentences).
    """
    step = Decimal(1).scaleb(-places)
    return (Decimal(int(grams or 0)) / GRAMS_PER_KILOGRAM).quantize(step, rounding=ROUND_DOWN)


def format_kilograms(grams, places: int = 1) -> str:
    """Kilograms for a table cell under a "kg CO₂e" heading: "1,234.5", rounded down like ``kilograms``."""
    return f"{kilograms(grams, places):,.{places}f}"
