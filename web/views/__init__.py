"""The console blueprint: who is signed in, CSRF on every form, errors as Chinese pages."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError

from carbon_credit.errors import DomainError, Forbidden, NotFound
from carbon_credit.staff.sessions import session_staff
from carbon_credit.timeutil import TZ, local_date, utcnow

from .. import csrf, texts
from ..database import db
from ..vendor import vendor_file

console = Blueprint("console", __name__, url_prefix="/console", template_folder="../templates",
                    static_folder="../static", static_url_path="/static")
PUBLIC_ENDPOINTS = {"console.sign_in", "console.static", "console.vendor"}
SESSION_KEY = "sid"
# The main menu, in its order: (endpoint, label, endpoint prefix or prefixes that mark it current).
NAV = [
    ("console.dashboard", "概览", None),
    ("console.campaigns", "活动", ("console.campaign", "console.weigh_in")),
    ("console.reviews", "审核", "console.review"),
    ("console.rewards", "奖品", ("console.reward", "console.redemption", "console.voucher")),
    ("console.stations", "站点", "console.station"),
    ("console.report", "报表", "console.report"),
]
# Pages only admins may open (the API answers a worker 403 there), shown after the others.
ADMIN_NAV = [
    ("console.staff", "人员", "console.staff"),
    ("console.rules", "规则", "console.rule"),
    ("console.audit", "审计", "console.audit"),
    ("console.budgets", "预算", "console.budget"),
    ("console.partners", "合作方", "console.partner"),
    ("console.org", "组织", "console.org"),
    ("console.sends", "发送记录", "console.sends"),
    ("console.ingest", "数据导入", "console.ingest"),
]
# Endpoint prefixes a worker is refused (403, as by the API): every admin page's.
ADMIN_ONLY = frozenset(prefix for _endpoint, _label, prefix in ADMIN_NAV)


@console.before_request
def _load_staff():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    found = session_staff(db.session, session.get(SESSION_KEY), utcnow())
    if found is None:
        session.pop(SESSION_KEY, None)
        target = url_for("console.sign_in", next=request.full_path.rstrip("?") if request.method == "GET" else None)
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": target}
        return redirect(target)
    g.staff_session, g.staff = found
    g.scope = None if g.staff.role == "admin" else tuple(g.staff.community_ids)
    return None


@console.before_request
def _admins_only():
    endpoint = request.endpoint or ""
    staff = g.get("staff")
    if staff is not None and staff.role != "admin" and any(endpoint.startswith(p) for p in ADMIN_ONLY):
        raise Forbidden(code="forbidden")


@console.after_request
def _no_store(response):
    # Console pages show residents' data: never kept by shared caches or the back button of another user.
    if request.endpoint not in ("console.static", "console.vendor"):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


@console.app_context_processor
def _globals():
    return {"texts": texts, "nav": NAV, "admin_nav": ADMIN_NAV, "vendor_missing": current_app.config.get("CONSOLE_VENDOR_MISSING", [])}


@console.app_template_filter("local_day")
def _local_day(moment) -> str:
    return local_date(moment).isoformat() if moment else ""


@console.app_template_filter("last_local_day")
def _last_local_day(moment) -> str:
    """The last Shanghai day of a window that ends (exclusive) at ``moment``."""
    return local_date(moment - timedelta(microseconds=1)).isoformat() if moment else ""


@console.app_template_filter("local_time")
def _local_time(moment) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


@console.app_template_filter("number")
def _number(value) -> str:
    return format(Decimal(str(value)).normalize(), "f")


@console.app_template_filter("extract")
def _extract(key, mapping):
    return mapping.get(key, key)


def error_page(message: str, status: int):
    return render_template("console/error.html", message=message, status=status), status


@console.errorhandler(CSRFError)
def _csrf_failed(error):
    return error_page(texts.error_text("csrf"), 400)


@console.errorhandler(NotFound)
def _not_found(error):
    return error_page(texts.error_text(error.code), 404)


@console.errorhandler(404)
def _http_not_found(error):
    return error_page(texts.error_text("not_found"), 404)


@console.errorhandler(DomainError)
def _domain_error(error):
    return error_page(texts.error_text(error.code), getattr(error, "status", 400))


@console.get("/vendor/<path:name>")
def vendor(name):
    return vendor_file(name)


@console.get("/<path:anything>")
def unknown(anything):
    abort(404)


from . import (  # noqa: E402,F401  (every page's routes on the blueprint)
    audit,
    auth,
    budgets,
    campaign_site,
    campaigns,
    dashboard,
    downloads,
    ingest,
    org,
    partners,
    people,
    reports,
    reviews,
    rewards,
    rules,
    sends,
    stations,
    weighins,
)
