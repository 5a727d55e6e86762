"""flask wechat say|scan|click|follow|unfollow against a server running on 127.0.0.1."""
from __future__ import annotations

import os
import socket
import threading
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from werkzeug.serving import make_server

from bot import texts
from bot.cli import callback_url
from bot.settings import bot_settings
from carbon_credit.models import Resident

from .campaign_support import install_rules, running_campaign, weigh_in
from .factories import FIXED_NOW, make_community, make_resident


@pytest.fixture
def server(app):
    """The app served on a free loopback port for the length of the test."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/wechat"
    httpd.shutdown()
    thread.join(10)


def _wechat(runner, *args):
    return runner.invoke(args=["wechat", *args])


def test_say_prints_the_real_balance_in_safe_mode(runner, session, server):
    install_rules(session)
    resident = make_resident(session, "o-demo-1", community=make_community(session))
    weigh_in(session, resident, "4", FIXED_NOW - timedelta(hours=1))
    session.commit()
    result = _wechat(runner, "say", "o-demo-1", "余额", "--url", server)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"您的积分：{resident.account.balance} 分\n累计减碳：")


def test_scan_click_follow_and_unfollow(runner, session, server):
    install_rules(session)
    home = make_community(session)
    campaign = running_campaign(session, [home], checkin_points=20, checkin_qr="temporary", title="全国低碳日")
    make_resident(session, "o-demo-2", community=home)
    scene = f"campaign:{campaign.id}"
    session.commit()
    with freeze_time(FIXED_NOW):
        first = _wechat(runner, "scan", "o-demo-2", scene, "--url", server)
    with freeze_time(FIXED_NOW + timedelta(minutes=5)):  # a second scan, not a retry of the first
        again = _wechat(runner, "scan", "o-demo-2", scene, "--url", server)
    assert first.output.strip() == "签到成功：全国低碳日\n获得 20 分，当前积分 20 分。"
    assert again.output.strip() == "您今天已在“全国低碳日”签到过了，明天再来吧。"
    assert _wechat(runner, "click", "o-demo-2", "HELP", "--url", server).output.strip() == texts.HELP
    assert _wechat(runner, "follow", "o-demo-3", "--url", server).output.strip() == texts.WELCOME
    unfollow = _wechat(runner, "unfollow", "o-demo-3", "--url", server)
    assert unfollow.exit_code == 0 and "success" in unfollow.output
    with freeze_time(FIXED_NOW):
        new = _wechat(runner, "scan", "o-demo-4", scene, "--new", "--url", server)
    assert new.output.startswith(texts.WELCOME_SHORT)
    session.rollback()
    assert session.scalar(select(Resident.status).where(Resident.openid_hash.is_not(None))) == "unfollowed"
    assert session.scalar(select(Resident.id).where(Resident.openid == "o-demo-4")) is not None


def test_plaintext_when_no_aes_key_is_configured(app, runner, server):
    app.config["WECHAT_AES_KEY"] = ""
    app.extensions.pop("wechat_bot", None)
    result = _wechat(runner, "say", "o-plain", "帮助", "--url", server)
    assert result.exit_code == 0 and result.output.strip() == texts.HELP


def test_an_unreachable_server_is_explained(runner):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _wechat(runner, "say", "o-x", "余额", "--url", f"http://127.0.0.1:{port}/wechat")
    assert result.exit_code == 1
    assert "cannot reach" in result.output and "is the server running" in result.output
    assert "flask run" not in result.output
    assert "the address came from --url" in result.output and "flask --app wsgi demo" in result.output
    assert "--port" in result.output and "CARBON_URL" in result.output


def test_without_url_the_simulator_reads_carbon_url(runner, session, server):
    base = server.removesuffix("/wechat")
    result = runner.invoke(args=["wechat", "say", "o-env", "帮助"], env={"CARBON_URL": base + "/"})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == texts.HELP


def test_without_url_the_simulator_finds_the_running_demo_on_its_port(app, runner, session, server, tmp_path,
                                                                      monkeypatch):
    from api.cli_demo import announced_url, local_url

    monkeypatch.delenv("CARBON_URL", raising=False)
    app.instance_path = str(tmp_path / "instance")
    port = int(server.rsplit(":", 1)[1].split("/")[0])
    with announced_url(app.instance_path, local_url("0.0.0.0", port)) as written:
        result = runner.invoke(args=["wechat", "say", "o-demo", "帮助"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == texts.HELP
    assert not os.path.exists(written)  # the demo stopped: the simulator falls back to the default
    with app.app_context():
        assert callback_url(None) == ("http://127.0.0.1:5000/wechat", "the default")


def test_a_token_mismatch_is_explained(app, runner, server):
    bot_settings(app)  # the server has read its token
    app.config["WECHAT_TOKEN"] = "not-the-servers-token"  # the command signs with another
    result = _wechat(runner, "say", "o-x", "余额", "--url", server)
    assert result.exit_code == 1 and "WECHAT_TOKEN" in result.output


def test_without_a_token_the_simulator_says_so(app, runner):
    app.config["WECHAT_TOKEN"] = ""
    result = _wechat(runner, "say", "o-x", "余额")
    assert result.exit_code == 1 and "WECHAT_TOKEN is not set" in result.output
