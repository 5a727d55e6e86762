"""The browser face: the staff console at /console/ and the residents' pages at /h5/.

Server-rendered pages in Chinese over the same domain services as the API.
``register(app)`` is the one hook the app factory calls: it sets the cookie and
CSRF rules, mounts the console blueprint and its vendor files (htmx, ECharts
from ``node_modules``, installed by ``npm ci``), and checks those files exist.
"""
from __future__ import annotations

import os

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from carbon_credit.texts import format_carbon, format_kilograms

csrf = CSRFProtect()


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _configure(app: Flask) -> None:
    # Only the console's forms are checked (its before_request calls csrf.protect());
    # the JSON API and the WeChat callback authenticate otherwise.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own lifetime bounds the token
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if _truthy(os.environ.get("SESSION_COOKIE_SECURE", "")):
        app.config["SESSION_COOKIE_SECURE"] = True
    if app.config.get("SESSION_COOKIE_NAME") == "session":
        app.config["SESSION_COOKIE_NAME"] = "console_session"


def register(app: Flask) -> None:
    from .vendor import check_vendor_files
    from .h5 import h5
    from .views import console

    _configure(app)
    # Every carbon amount a page shows goes through carbon_credit.texts, rounded down like every face:
    app.add_template_filter(format_carbon, "carbon")  # grams -> "1.99 千克"
    app.add_template_filter(format_kilograms, "kg")  # grams -> "1,234.5" (a cell under "kg CO₂e"), |kg(2)
    csrf.init_app(app)
    app.register_blueprint(console)
    app.register_blueprint(h5)
    check_vendor_files(app)
