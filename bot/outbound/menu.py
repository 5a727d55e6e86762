"""The official account's custom menu: its layout, WeChat's limits, publishing.

The CLICK keys are the ones the inbound handlers answer; every command a
resident could type is one tap away, so nobody has to type. Each publication
is recorded (``wechat_menu_publications``) with the menu sent and WeChat's
answer, or marked offline when the offline client only recorded it.
"""
from __future__ import annotations

from datetime import datetime

from carbon_credit.errors import InvalidInput
from carbon_credit.models import MenuPublication

from .offline import is_offline
from .pages import page_link

MENU_KEYS = ("BALANCE", "HISTORY", "CAMPAIGNS", "RANK", "BIND_CARD", "HELP")
MAX_TOP_BUTTONS, MAX_SUB_BUTTONS = 3, 5
MAX_TOP_NAME, MAX_SUB_NAME = 4, 8  # in CJK characters; a Latin letter counts half
MAX_TOP_BYTES, MAX_SUB_BYTES = 16, 60  # WeChat's byte limits on the same names
MAX_KEY_BYTES, MAX_URL_BYTES = 128, 1024
H5_BUTTON_NAME = "我的碳账户"


def _click(name: str, key: str) -> dict:
    return {"type": "click", "name": name, "key": key}


def _view(name: str, h5_url: str, appid: str, page: str) -> dict:
    return {"type": "view", "name": name, "url": page_link(h5_url, appid, page)}


def build_menu(h5_url: str | None = None, appid: str = "") -> dict:
    """The menu to publish; with the H5 pages' URL, VIEW buttons open them through WeChat's OAuth."""
    points = [_click("积分余额", "BALANCE"), _click("积分明细", "HISTORY")]
    activities = [_click("社区活动", "CAMPAIGNS"), _click("本月排行", "RANK")]
    more = [_click("绑定公交卡", "BIND_CARD"), _click("使用帮助", "HELP")]
    if h5_url:
        points.append(_view(H5_BUTTON_NAME, h5_url, appid, "home"))
        points.append(_view("积分兑换", h5_url, appid, "rewards"))
        activities.append(_view("报名活动", h5_url, appid, "campaigns"))
        more[1:1] = [_view("节能家电申报", h5_url, appid, "appliances"), _view("隐私与数据", h5_url, appid, "privacy")]
    return {
        "button": [
            {"name": "我的积分", "sub_button": points},
            {"name": "绿色活动", "sub_button": activities},
            {"name": "更多服务", "sub_button": more},
        ]
    }


def menu_for(config) -> dict:
    """This server's menu: VIEW buttons to the H5 pages when WECHAT_H5_URL is set."""
    return build_menu(config.get("WECHAT_H5_URL"), config.get("WECHAT_APPID") or "")


def name_width(name: str) -> float:
    """Width in CJK characters, the unit WeChat states its menu limits in."""
    return sum(0.5 if ord(ch) < 0x80 else 1 for ch in name)


def _check_name(name, where: str, max_width: int, max_bytes: int, problems: list[str]) -> None:
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: a button needs a name")
    elif name_width(name) > max_width or len(name.encode()) > max_bytes:
        problems.append(f"{where}: name {name!r} is longer than {max_width} Chinese characters")


def _check_action(button: dict, where: str, problems: list[str]) -> None:
    kind = button.get("type")
    if kind == "click":
        key = button.get("key") or ""
        if not key or len(key.encode()) > MAX_KEY_BYTES:
            problems.append(f"{where}: a click button needs a key of 1-{MAX_KEY_BYTES} bytes")
    elif kind == "view":
        url = button.get("url") or ""
        if not url.startswith(("http://", "https://")) or len(url.encode()) > MAX_URL_BYTES:
            problems.append(f"{where}: a view button needs an http(s) URL of at most {MAX_URL_BYTES} bytes")
    else:
        problems.append(f"{where}: unsupported button type {kind!r}")


def menu_problems(menu: dict) -> list[str]:
    """Everything in ``menu`` WeChat would refuse, checked before WeChat is called."""
    problems: list[str] = []
    buttons = menu.get("button") or []
    if not 1 <= len(buttons) <= MAX_TOP_BUTTONS:
        problems.append(f"the menu needs 1-{MAX_TOP_BUTTONS} top-level buttons, not {len(buttons)}")
    for i, button in enumerate(buttons, 1):
        where = f"button {i}"
        _check_name(button.get("name"), where, MAX_TOP_NAME, MAX_TOP_BYTES, problems)
        subs = button.get("sub_button")
        if subs is None:
            _check_action(button, where, problems)
            continue
        if not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            problems.append(f"{where}: needs 1-{MAX_SUB_BUTTONS} sub-buttons, not {len(subs)}")
        for j, sub in enumerate(subs, 1):
            _check_name(sub.get("name"), f"{where}.{j}", MAX_SUB_NAME, MAX_SUB_BYTES, problems)
            _check_action(sub, f"{where}.{j}", problems)
    return problems


def validate_menu(menu: dict) -> None:
    problems = menu_problems(menu)
    if problems:
        raise InvalidInput("The menu breaks WeChat's limits.", errors={"menu": problems})


def publish_menu(session, client, menu: dict, now: datetime, *, published_by: int | None = None) -> MenuPublication:
    """Validate, create the menu at WeChat and record it; ``.answer`` is WeChat's ({"errcode": 0, "errmsg": "ok"}).

    Flushes, never commits: the caller commits once WeChat accepted it.
    """
    validate_menu(menu)
    answer = client.menu.create(menu)
    publication = MenuPublication(menu=menu, answer=dict(answer or {}), offline=is_offline(client),
                                  published_by=published_by, published_at=now)
    session.add(publication)
    session.flush()
    return publication


def publish_configured_menu(session, client, config, now: datetime, *,
                            published_by: int | None = None) -> MenuPublication:
    """Publish this server's menu and commit the record (WeChat's acceptance cannot be taken back)."""
    menu = menu_for(config)
    session.commit()  # end any read transaction before the token store may write (SQLite)
    try:
        publication = publish_menu(session, client, menu, now, published_by=published_by)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return publication
