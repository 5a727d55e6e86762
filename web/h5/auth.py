"""Signing a resident in: WeChat web OAuth (snsapi_base), and in the demo a list of demo residents."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, session, url_for
from wechatpy.oauth import WeChatOAuth

from carbon_credit.errors import DomainError
from carbon_credit.models import Resident
from carbon_credit.reporting.history import page_of, resident_search_query
from carbon_credit.residents.accounts import register_resident
from carbon_credit.timeutil import utcnow

from ..database import db
from . import demo_sign_in_allowed, end_session, h5, signed_in_resident, start_session

STATE_KEY = "h5_oauth_state"
NEXT_KEY = "h5_next"
LINK_STATE = "menu"  # the state of links the official account's menu and replies carry
DEMO_LIST_SIZE = 30
OAUTH_ERRORS = {"wechat_oauth_failed": "微信登录凭证已失效，请从公众号菜单重新打开页面。",
                "wechat_unavailable": "暂时连接不上微信，请稍后再试。",
                "wechat_not_configured": "本服务尚未配置微信登录，请联系管理员。"}


def safe_next(target: str | None) -> str:
    """Only a path inside /h5/; anything else (another host, a scheme) goes to the first page."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/h5/") or (target or "").startswith("//"):
        return url_for("h5.home")
    return target


def authorize_url(state: str) -> str:
    """WeChat's authorise URL for snsapi_base, coming back to our callback."""
    config = current_app.config
    callback = url_for("h5.oauth_callback", _external=True)
    return WeChatOAuth(config["WECHAT_APPID"], config["WECHAT_SECRET"], redirect_uri=callback,
                       scope="snsapi_base", state=state).authorize_url


@h5.get("/signin")
def sign_in():
    """Where an unsigned visitor lands: WeChat's silent authorisation, or in the demo the demo list."""
    target = safe_next(request.args.get("next"))
    if demo_sign_in_allowed():
        return redirect(url_for("h5.demo_sign_in", next=target))
    state = secrets.token_urlsafe(16)
    session[STATE_KEY] = state
    session[NEXT_KEY] = target
    return redirect(authorize_url(state))


@h5.get("/oauth")
def oauth_callback():
    """WeChat sends the resident back here with a single-use code and our state."""
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if state == LINK_STATE:
        return _from_link(safe_next(request.args.get("next")))
    expected = session.pop(STATE_KEY, None)
    target = safe_next(session.pop(NEXT_KEY, None))
    if not code or not expected or not secrets.compare_digest(state, expected):
        return _refused("登录请求已过期或不完整，请从公众号菜单重新打开页面。", 400)
    try:
        identity = current_app.extensions["carbon_host"].exchange_oauth_code(code)
    except DomainError as exc:
        return _refused(OAUTH_ERRORS.get(exc.code, "微信登录失败，请稍后再试。"), exc.status)
    resident = register_resident(db.session, identity.openid, utcnow(), unionid=identity.unionid)
    db.session.commit()
    if resident.status != "active":
        return _refused("您的账户已被暂停使用，如有疑问请联系所在社区。", 403)
    start_session(resident)
    return redirect(target)


def _from_link(target: str):
    """A menu button or a reply's link: its state is not this browser's, so its code is not trusted.

    A resident already signed in goes straight to the page; anyone else is
    authorised again (silently, snsapi_base) with a state bound to this session,
    so nobody can be signed in to someone else's account by a forwarded link.
    """
    if signed_in_resident() is not None:
        return redirect(target)
    return redirect(url_for("h5.sign_in", next=target))


def _refused(message: str, status: int):
    return render_template("h5/message.html", title="未能登录", message=message, error=True), status


@h5.route("/demo", methods=["GET", "POST"])
def demo_sign_in():
    """The demo's stand-in for WeChat: pick a demo resident. Not found anywhere else."""
    if not demo_sign_in_allowed():
        abort(404)
    target = safe_next(request.values.get("next"))
    if request.method == "POST":
        resident = db.session.get(Resident, request.form.get("resident", type=int) or 0)
        if resident is None or resident.status != "active":
            abort(404)
        start_session(resident)
        return redirect(target)
    rows, _total = page_of(db.session, resident_search_query(status="active"), 1, DEMO_LIST_SIZE)
    return render_template("h5/demo_sign_in.html", residents=[row[0] for row in rows], next=target)


@h5.get("/signed-out")
def signed_out():
    return render_template("h5/message.html", title="已退出登录",
                           message="您的登录已结束。请从公众号菜单重新打开页面。"), 200


@h5.post("/logout")
def sign_out():
    end_session()
    return redirect(url_for("h5.signed_out"))
