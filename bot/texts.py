"""Every word the bot says to a resident, in one place.

Templates use ``str.format`` fields. Keep each reply short: WeChat shows it in a
chat bubble, and the passive reply must stay well under 2048 bytes.
"""
from __future__ import annotations

COMMAND_LIST = (
    "可以发送以下指令（或点底部菜单）：\n"
    "余额 — 查积分和减碳量\n"
    "明细 — 最近 5 笔积分变动\n"
    "活动 — 本社区正在进行的活动\n"
    "排行 — 本月社区排名\n"
    "绑卡 — 绑定公交/地铁卡\n"
    "帮助 — 查看本列表"
)

# What residents type for each command (compared after NFKC, lower case, spaces removed).
COMMAND_WORDS = {
    "balance": ("余额", "积分", "查积分", "查余额", "我的积分", "积分余额", "balance", "points"),
    "history": ("明细", "积分明细", "记录", "积分记录", "history"),
    "help": ("帮助", "help", "?", "菜单", "指令", "你好", "hi", "hello"),
    "bind_card": ("绑卡", "绑定交通卡", "绑定公交卡", "绑定地铁卡", "交通卡", "公交卡", "bind"),
    "campaigns": ("活动", "最新活动", "社区活动", "campaigns"),
    "rank": ("排行", "排名", "排行榜", "我的排名", "rank"),
}

WELCOME = "欢迎关注碳普惠！乘公交地铁、骑车步行、垃圾分类都能攒积分、兑好礼。\n" + COMMAND_LIST
WELCOME_BACK = "欢迎回来！您的积分账户已恢复，发送“余额”查看。"
# Following by scanning a QR code: the check-in result follows these lines.
WELCOME_SHORT = "欢迎关注碳普惠！发送“帮助”查看指令。"
WELCOME_BACK_SHORT = "欢迎回来！您的积分账户已恢复。"
HELP = COMMAND_LIST
UNKNOWN_TEXT = "没太明白您的意思。" + COMMAND_LIST
UNKNOWN_CLICK = "这个菜单暂时没有内容。" + COMMAND_LIST
NOT_REGISTERED = "暂时查不到您的账户，请取消关注后重新关注，或联系社区工作人员。"
ACCOUNT_SUSPENDED = "您的积分账户已暂停使用，暂时无法查询、签到或获得积分。如有疑问，请联系社区工作人员。"

# 余额
BALANCE = "您的积分：{points} 分\n累计减碳：{carbon}二氧化碳当量"  # carbon: carbon_credit.texts.format_carbon
BALANCE_EXPIRING = "\n其中 {expiring} 分将在 30 天内到期，记得及时兑换。"
BALANCE_EMPTY_HINT = "\n乘公交地铁、参加社区活动扫码签到都能获得积分。"

# 明细
HISTORY_HEAD = "最近 {count} 笔积分变动："
HISTORY_LINE = "{day} {name} +{points} 分"
HISTORY_LINE_CAPPED = "{day} {name} 0 分（{reason}）"
HISTORY_LINE_CLIPPED = "{day} {name} +{points} 分（{reason}）"
# Changes other than credits, by ledger entry kind. Fields: day, name, points (unsigned), signed.
HISTORY_ENTRY_LINES = {
    "spend": "{day} 兑换「{name}」 -{points} 分",
    "refund": "{day} 取消兑换「{name}」退回 +{points} 分",
    "expire": "{day} 积分到期 -{points} 分",
    "adjust": "{day} 积分调整（{name}） {signed} 分",
    "reverse": "{day} 积分冲正（{name}） {signed} 分",
}
HISTORY_ENTRY_OTHER = "{day} 积分变动 {signed} 分"
HISTORY_NO_REASON = "未注明"
HISTORY_EMPTY = "还没有积分记录。乘公交地铁、参加社区活动扫码签到都能获得积分。"
DAY_FORMAT = "{month}月{day}日"
CAP_REASONS = {
    "day": "已达每日上限",
    "week": "已达每周上限",
    "month": "已达每月上限",
    "year": "已达每年上限",
}
CAP_REASON_OTHER = "已达上限"

# 活动
CAMPAIGNS_HEAD = "本社区正在进行的活动："
CAMPAIGN_LINE = "· {title}（至{until}）"
CAMPAIGN_LINE_OPEN_END = "· {title}"
CAMPAIGNS_EMPTY = "您所在社区暂时没有进行中的活动，敬请关注。"
CAMPAIGNS_MORE = "……另有 {count} 个活动"
NO_COMMUNITY = "您还没有加入社区，请联系社区工作人员登记后再查看。"

# 排行
RANK = "本月您在{community}排第 {rank} 名（共 {total} 人），本月获得 {points} 分。"
RANK_NONE = "本月您还没有获得积分，快去参加绿色行动吧！"

# 绑卡
BIND_CARD_HOW = (
    "绑定公交/地铁卡后，乘车记录会自动换算积分：\n"
    "1. 发送“绑卡 卡号”，例如：绑卡 3100123456789\n"
    "2. 或打开菜单“我的积分 → 我的碳账户”页面填写\n"
    "卡号只用于匹配乘车记录，不会公开。"
)
BIND_CARD_PAGE = "\n也可以<a href=\"{url}\">打开绑卡页面</a>填写卡号、查看已绑定的卡。"
BIND_CARD_DONE = "已绑定尾号 {tail} 的交通卡。{claimed}之后的乘车记录会自动记积分。"
BIND_CARD_CLAIMED = "已补记这张卡最近 {days} 天的 {trips} 次乘车，共 {points} 分。"
BIND_CARD_NOTHING_CLAIMED = "这张卡最近 {days} 天没有待补记的乘车记录。"
BIND_CARD_ALREADY = "尾号 {tail} 的交通卡已绑定在您的账户上，乘车记录会自动记积分。"
BIND_CARD_FAILED = "绑卡没有成功：{reason}"
# Why a binding failed comes from carbon_credit.texts.ERROR_TEXTS; a code without a text reads:
BIND_CARD_REASON_OTHER = "请在绑卡页面操作，或联系社区工作人员。"

# Messages that are not text.
IMAGE = "图片收到了。机器人目前只认文字指令，" + COMMAND_LIST
VOICE_UNRECOGNISED = "语音没听清，请发文字试试。" + COMMAND_LIST
VIDEO = "视频收到了，谢谢分享！发送“帮助”查看可用指令。"
LOCATION = "位置收到了。扫社区站点或活动现场的二维码即可签到积分。"
LINK = "链接收到了，谢谢分享！发送“帮助”查看可用指令。"
SCANCODE_UNKNOWN = "这个二维码不是碳普惠的签到码。请扫描社区站点或活动现场张贴的二维码。"

# QR check-ins: ScanResult.code -> text. Fields: title, points, balance.
SCAN_RESULTS = {
    "checked_in": "签到成功：{title}\n获得 {points} 分，当前积分 {balance} 分。",
    "already_checked_in": "您今天已在“{title}”签到过了，明天再来吧。",
    "limit_reached": "“{title}”的签到次数已达上限，感谢参与！",
    "not_open": "“{title}”目前不在签到时间内，请留意活动时间。",
    "outside_community": "“{title}”仅限活动所在社区的居民参加。",
    "station_visit_open": "欢迎来到{title}！投递后请工作人员称重，积分会自动到账。",
    "unknown_scene": "这个二维码无法识别，可能已过期。请扫描现场最新的二维码。",
    "unknown_station": "这个站点二维码无效，对应的回收站点不存在。请扫描站点现场张贴的二维码，或联系社区工作人员。",
    "station_inactive": "“{title}”已停用，这个二维码不再有效。请到附近其他回收站点投递。",
    "inactive": "“{title}”的二维码已停用。",
    "resident_inactive": "您的账户暂时无法签到，请联系社区工作人员。",
}
# A result without its own text: nothing says it is temporary, so the reply does not suggest trying again.
SCAN_RESULT_OTHER = "这次扫码没有成功，请联系现场工作人员。"
SCAN_TITLE_FALLBACK = "本次活动"
