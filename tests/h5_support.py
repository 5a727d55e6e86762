"""Helpers for the residents' H5 pages: an app with the demo sign-in, signing a resident in."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from .console_support import csrf_token

WECHAT_FIXTURES = Path(__file__).parent / "fixtures" / "wechat"
OAUTH_URL = "https://api.weixin.qq.com/sns/oauth2/access_token"
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.50(0x1800323d) NetType/WIFI Language/zh_CN")


def recorded(name: str) -> dict:
    return json.loads((WECHAT_FIXTURES / name).read_text())


@pytest.fixture
def demo_app(app):
    """The test app with the demo sign-in page switched on (as the demo has it)."""
    app.config["H5_DEMO_SIGN_IN"] = True
    return app


def h5_sign_in(client, resident) -> None:
    """Sign ``resident`` in through the demo page, as a person taps their name."""
    page = client.get("/h5/demo")
    assert page.status_code == 200
    response = client.post("/h5/demo", data={"resident": resident.id, "next": "/h5/",
                                             "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302


def form_token(client, url: str) -> str:
    return csrf_token(client.get(url).get_data(as_text=True))
