"""The console in a real Chromium, walked as a community worker does it."""
from __future__ import annotations

import pytest

from .console_support import browser, browser_sign_in, live_server, page, shot  # noqa: F401
from .factories import make_community, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def area(session):
    """A worker of 大桥街道's two communities, and another street's community."""
    community = make_community(session, "滨河社区")
    second = make_community(session, "鹊华社区", street=community.street)
    elsewhere = make_community(session, "孙耿社区")
    make_staff(session, "worker", "worker", communities=[community, second])
    session.commit()
    return {"community": community, "second": second, "elsewhere": elsewhere}


def test_signing_in_from_the_keyboard_and_out_again_ends_a_copied_cookie(page, area):
    page.goto("/console/")
    shot(page, "sign-in")
    browser_sign_in(page, "worker")
    assert page.get_by_role("heading", level=1).inner_text().startswith("概览")
    shot(page, "dashboard")
    cookies = page.context.cookies()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/console/login")
    assert "您已安全退出" in page.content()
    page.context.add_cookies(cookies)  # the copied cookie comes back
    page.goto("/console/")
    assert "/console/login" in page.url
