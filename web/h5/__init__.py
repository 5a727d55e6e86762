"""The residents' pages inside WeChat at /h5/: mobile-first, in Chinese, over the domain services.

Who is signed in lives in the (HttpOnly, SameSite=Lax) session cookie as the
resident's id and the account's token epoch; both are checked against the
database on every request, so blocking or erasing a resident ends their session
at the next tap, on every server.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from ..database import db
from carbon_credit.models import Resident

from .. import csrf
from .compress import gzip_response

h5 = Blueprint("h5", __name__, url_prefix="/h5", template_folder="../templates", static_folder="../static",
               static_url_path="/static")
PUBLIC_ENDPOINTS = {"h5.sign_in", "h5.oauth_callback", "h5.demo_sign_in", "h5.static", "h5.vendor",
                    "h5.signed_out"}
RESIDENT_KEY = "h5_resident"
EPOCH_KEY = "h5_epoch"
ELDER_KEY = "h5_elder"


def epoch_of(resident: Resident) -> int:
    return getattr(resident, "token_epoch", 0) or 0


def start_session(resident: Resident) -> None:
    elder = session.get(ELDER_KEY)
    session.clear()
    session[RESIDENT_KEY] = resident.id
    session[EPOCH_KEY] = epoch_of(resident)
    if elder:
        session[ELDER_KEY] = True


def end_session() -> None:
    session.pop(RESIDENT_KEY, None)
    session.pop(EPOCH_KEY, None)


def signed_in_resident() -> Resident | None:
    """The resident of this session if still active with the same epoch; otherwise None."""
    resident_id = session.get(RESIDENT_KEY)
    if not isinstance(resident_id, int):
        return None
    resident = db.session.get(Resident, resident_id)
    if resident is None or resident.status != "active" or session.get(EPOCH_KEY) != epoch_of(resident):
        return None
    return resident


@h5.before_request
def _load_resident():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        # An upload page raises the application's body limit for itself, before the CSRF check reads the form.
        limit = getattr(current_app.view_functions.get(request.endpoint), "max_body", None)
        if limit:
            request.max_content_length = limit
        csrf.protect()
    g.elder = bool(session.get(ELDER_KEY))
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    resident = signed_in_resident()
    if resident is None:
        had_session = RESIDENT_KEY in session
        end_session()
        target = url_for("h5.sign_in", next=request.full_path.rstrip("?") if request.method == "GET" else None)
        if had_session:
            target = url_for("h5.signed_out")
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": target}
        return redirect(target)
    g.resident = resident
    return None


@h5.after_request
def _headers(response):
    if request.endpoint not in ("h5.static", "h5.vendor"):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return gzip_response(response)


@h5.errorhandler(404)
def _not_found(_error):
    return render_template("h5/message.html", title="找不到这个页面",
                           message="您要找的内容不存在，或者不属于您的账户。"), 404


def demo_sign_in_allowed() -> bool:
    """The demo sign-in exists only in the demo (or a test that asks for it), never in production."""
    config = current_app.config
    return bool(config.get("DEMO_MODE") or (config.get("TESTING") and config.get("H5_DEMO_SIGN_IN")))


from . import account, auth, campaigns, claims, declare, me, rewards, wechat  # noqa: E402,F401  (routes register themselves on the blueprint)


def _vendor(name: str):
    from ..vendor import vendor_file

    return vendor_file(name)


h5.add_url_rule("/vendor/<name>", "vendor", _vendor)
