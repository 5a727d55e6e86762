"""The custom menu: WeChat's limits checked before calling it, the CLICK keys the bot answers, publishing."""
from __future__ import annotations

import json

import pytest

from sqlalchemy import func, select

from bot.outbound.menu import MENU_KEYS, build_menu, menu_problems, publish_menu, validate_menu
from carbon_credit.errors import InvalidInput
from carbon_credit.models import MenuPublication

from .factories import FIXED_NOW

from .outbound_support import (
    MENU_CREATE, STABLE_TOKEN_URL, add_api, add_stable_token, body_of, calls_to, db_client,
    rsps,  # noqa: F401  (fixture)
)


def _click_keys(menu: dict) -> list[str]:
    return [b["key"] for top in menu["button"] for b in top.get("sub_button", [top]) if b.get("type") == "click"]


def test_the_menu_offers_exactly_the_keys_the_bot_answers():
    menu = build_menu()
    assert sorted(_click_keys(menu)) == sorted(MENU_KEYS)
    assert menu_problems(menu) == []
    assert not any(b.get("type") == "view" for top in menu["button"] for b in top["sub_button"])


def test_a_configured_h5_page_gets_a_view_button():
    menu = build_menu("https://carbon.example.gov.cn/h5/", "wxappid")
    views = [b for top in menu["button"] for b in top["sub_button"] if b.get("type") == "view"]
    assert views[0]["name"] == "我的碳账户"  # through WeChat's OAuth, back to the pages' first page
    assert "redirect_uri=https%3A%2F%2Fcarbon.example.gov.cn%2Fh5%2Foauth%3Fnext%3D%252Fh5%252F&" in views[0]["url"]
    assert menu_problems(menu) == []


def _menu(*tops):
    return {"button": list(tops)}


def _top(name="活动", subs=None):
    return {"name": name, "sub_button": subs if subs is not None else [{"type": "click", "name": "余额", "key": "BALANCE"}]}


@pytest.mark.parametrize("menu, fragment", [
    (_menu(_top(), _top(), _top(), _top()), "1-3 top-level buttons"),
    (_menu(_top("我的积分余额")), "longer than 4"),
    (_menu(_top("Balance!!!")), "longer than 4"),
    (_menu(_top(subs=[{"type": "click", "name": f"子{i}", "key": "HELP"} for i in range(6)])), "1-5 sub-buttons"),
    (_menu(_top(subs=[{"type": "click", "name": "查看我的全部积分明细", "key": "HISTORY"}])), "longer than 8"),
    (_menu(_top(subs=[{"type": "click", "name": "余额", "key": ""}])), "needs a key"),
    (_menu(_top(subs=[{"type": "view", "name": "主页", "url": "javascript:alert(1)"}])), "http(s) URL"),
    (_menu(_top(subs=[{"type": "miniprogram", "name": "小程序"}])), "unsupported button type"),
])
def test_menus_breaking_wechats_limits_are_refused_before_calling_wechat(menu, fragment, engine, session, rsps):
    assert any(fragment in p for p in menu_problems(menu)), menu_problems(menu)
    with pytest.raises(InvalidInput):
        publish_menu(session, db_client(engine), menu, FIXED_NOW)
    assert len(rsps.calls) == 0
    assert session.scalar(select(func.count()).select_from(MenuPublication)) == 0


def test_four_chinese_characters_or_eight_latin_letters_fit_a_top_button():
    validate_menu(_menu(_top("我的积分"), _top("GREENMAP")))


def test_publishing_posts_the_menu_and_records_it_with_wechats_answer(engine, session, rsps):
    add_stable_token(rsps)
    add_api(rsps, MENU_CREATE, "menu_create_ok")
    menu = build_menu()
    publication = publish_menu(session, db_client(engine), menu, FIXED_NOW)
    session.commit()
    assert body_of(calls_to(rsps, MENU_CREATE)[0]) == menu
    stored = session.scalars(select(MenuPublication)).one()
    assert (stored.id, stored.answer, stored.menu, stored.offline, stored.published_at) == (
        publication.id, {"errcode": 0, "errmsg": "ok"}, menu, False, FIXED_NOW)


def test_flask_wechat_menu_prints_wechats_answer(app, runner, rsps):
    app.config["WECHAT_H5_URL"] = "https://carbon.example.gov.cn/h5/"
    add_stable_token(rsps)
    add_api(rsps, MENU_CREATE, "menu_create_ok")
    result = runner.invoke(args=["wechat", "menu"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"errcode": 0, "errmsg": "ok"}
    posted = body_of(calls_to(rsps, MENU_CREATE)[0])
    assert sorted(_click_keys(posted)) == sorted(MENU_KEYS)
    assert "redirect_uri=https%3A%2F%2Fcarbon.example.gov.cn%2Fh5%2Foauth%3Fnext%3D%252Fh5%252F" in json.dumps(posted)


def test_flask_wechat_menu_explains_an_unauthorised_account(runner, rsps):
    add_stable_token(rsps)
    add_api(rsps, MENU_CREATE, "menu_create_48001")
    result = runner.invoke(args=["wechat", "menu"])
    assert result.exit_code != 0
    assert "48001" in result.output and "接口未授权" in result.output


def test_flask_wechat_menu_explains_a_server_outside_the_ip_whitelist(runner, rsps):
    add_stable_token(rsps, "error_40164")
    result = runner.invoke(args=["wechat", "menu"])
    assert result.exit_code != 0
    assert "40164" in result.output and "IP白名单" in result.output
    assert calls_to(rsps, MENU_CREATE) == [] and len(calls_to(rsps, STABLE_TOKEN_URL)) == 1


def test_flask_wechat_menu_dry_run_calls_nobody(runner, rsps):
    result = runner.invoke(args=["wechat", "menu", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert sorted(_click_keys(json.loads(result.output[result.output.index("{"):]))) == sorted(MENU_KEYS)
    assert len(rsps.calls) == 0
