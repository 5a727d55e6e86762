"""The bot's handler table: assembled explicitly by ``bot.register``, never filled by imports."""
from __future__ import annotations

import pytest

from bot.handlers import build_handlers, events, messages
from bot.handlers.registry import CommandTable, Command, command


def test_every_command_answers_to_its_words_and_its_menu_key():
    table = build_handlers().commands
    assert set(table.by_name) == {"balance", "history", "help", "bind_card", "campaigns", "rank"}
    assert {key: cmd.name for key, cmd in table.clicks.items()} == {
        "BALANCE": "balance", "HISTORY": "history", "HELP": "help", "BIND_CARD": "bind_card",
        "CAMPAIGNS": "campaigns", "RANK": "rank"}
    assert table.match_text("绑卡 3100 1234")[0].name == "bind_card"


def test_a_word_two_commands_claim_is_refused():
    first = Command("first", lambda push, arg: "1", ("余额",))
    second = Command("second", lambda push, arg: "2", ("ＹＵ额", "余额"))
    with pytest.raises(ValueError, match="余额"):
        CommandTable([first, second])


def test_a_menu_key_two_commands_claim_is_refused():
    with pytest.raises(ValueError, match="BALANCE"):
        CommandTable([command("balance", lambda p, a: "", click="BALANCE"),
                      command("help", lambda p, a: "", click="BALANCE")])


def test_each_application_has_its_own_table(app, db_url):
    from api import create_app

    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "k"}, faces=("bot",))
    mine, theirs = app.extensions["wechat_handlers"], other.extensions["wechat_handlers"]
    mine.messages["text"] = lambda push: "changed"
    assert theirs.messages["text"] is messages.text
    assert messages.MESSAGES["text"] is messages.text


def test_stateless_events_need_no_dedupe_whatever_their_case():
    table = build_handlers()
    assert not table.needs_dedupe({"MsgType": "event", "Event": "location"})
    assert not table.needs_dedupe({"MsgType": "event", "Event": "VIEW"})
    assert table.needs_dedupe({"MsgType": "event", "Event": "CLICK"})
    assert table.needs_dedupe({"MsgType": "text"})
    assert table.events["scan"] is events.scan
