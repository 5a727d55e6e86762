"""Helpers for the console's tests: a signed-in test client, a live server, and Chromium.

Browser tests drive Debian's chromium through Playwright. Without a browser
they skip locally with the reason; with CI set they fail instead, so CI never
passes without having run them.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import threading

import pytest
from werkzeug.serving import make_server

from .factories import STAFF_PASSWORD

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("CONSOLE_SHOTS")  # a folder: browser tests save screenshots there when set


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str = STAFF_PASSWORD):
    page = client.get("/console/login")
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_token(page.get_data(as_text=True))})


def post_form(client, page_url: str, action_url: str, data: dict, **kw):
    """Submit a form the way a browser does: the CSRF token from the page it is on."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={"csrf_token": token, **data}, **kw)


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM")
    for path in ((configured,) if configured else ()) + CHROMIUM_PATHS:
        if path and shutil.which(path):
            return path
    return None


def require_browser() -> str:
    path = chromium_path()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        reason = "no Chromium (install Debian's chromium) or the playwright package is missing"
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    return path


class LiveServer:
    """The app served on a free local port in a thread, for the browser."""

    def __init__(self, app):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


def shot(page, name: str) -> None:
    """Save a desktop and a phone screenshot of the current page when CONSOLE_SHOTS names a folder."""
    if not SHOTS:
        return
    os.makedirs(SHOTS, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)


@pytest.fixture(scope="session")
def browser():
    path = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def browser_sign_in(page, username: str, password: str = STAFF_PASSWORD) -> None:
    """Sign in as a person does, from the keyboard: type, Tab, type, Enter."""
    page.goto("/console/")
    page.get_by_label("用户名").fill(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/console/login" not in url)


def png(width: int = 240, height: int = 160, rgb=(31, 122, 77)) -> bytes:
    """A small solid-colour PNG (an invoice photo stand-in a browser can actually draw)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def pending_claim(session, resident, *, invoice_no: str = "044001900111-12345678", now=None):
    """A resident's appliance claim with its invoice photo, waiting for review."""
    from datetime import timedelta
    from decimal import Decimal

    from carbon_credit.actions.appliances import ApplianceSubmission, submit_appliance_claim
    from carbon_credit.timeutil import local_date, utcnow

    now = now or utcnow()
    return submit_appliance_claim(session, resident.id, ApplianceSubmission(
        category="refrigerator", energy_grade=1, brand="海尔", model="BCD-470", label_kwh=Decimal("300"),
        invoice_no=invoice_no, invoice_date=local_date(now) - timedelta(days=3), photo=png()), now)


UNLABELLED_FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML)"""


def assert_labelled(page) -> None:
    """Every field a person can fill has a label a screen reader announces."""
    assert page.evaluate(UNLABELLED_FIELDS) == []
