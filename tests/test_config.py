"""One configuration: every setting comes from the environment through ``api.config.SETTINGS``,
and README.md's table documents exactly those."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from api import create_app
from api.config import SETTINGS, ConfigurationError

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE_HEADER = "| variable | default | meaning |"

# What each variable is set to in the environment, and what the app's config must then hold.
SAMPLES = {
    "DATABASE_URL": ("postgres://carbon@db.invalid/carbon", "postgresql+psycopg://carbon@db.invalid/carbon"),
    "REDIS_URL": ("redis://127.0.0.1:6379/13", "redis://127.0.0.1:6379/13"),
    "SECRET_KEY": ("secret-from-the-environment", "secret-from-the-environment"),
    "TOKEN_TTL_SECONDS": ("3600", 3600),
    "CARD_HASH_KEY": ("card-key-from-the-environment", "card-key-from-the-environment"),
    "PHONE_HASH_KEY": ("phone-key-from-the-environment", "phone-key-from-the-environment"),
    "OPENID_HASH_KEY": ("openid-key-from-the-environment", "openid-key-from-the-environment"),
    "CARD_CLAIM_WINDOW_DAYS": ("3", 3),
    "NOTIFICATIONS_KEEP_DAYS": ("90", 90),
    "WECHAT_TOKEN": ("token-from-the-environment", "token-from-the-environment"),
    "WECHAT_APPID": ("wx-from-the-environment", "wx-from-the-environment"),
    "WECHAT_SECRET": ("app-secret-from-the-environment", "app-secret-from-the-environment"),
    "WECHAT_AES_KEY": ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
    "WECHAT_OFFLINE": ("yes", True),
    "WECHAT_H5_URL": ("https://h5.example.cn/", "https://h5.example.cn/"),
    "WECHAT_TEMPLATES": ('{"credit": {"template_id": "t"}}', '{"credit": {"template_id": "t"}}'),
    "WECHAT_API_TIMEOUT": ("2.5", 2.5),
    "WECHAT_REDIS_PREFIX": ("city-b", "city-b"),
    "WECHAT_OUTBOX_BATCH": ("20", 20),
    "WECHAT_OUTBOX_MAX_ATTEMPTS": ("3", 3),
    "WECHAT_OUTBOX_BASE_DELAY": ("30", 30),
    "SIGN_IN_MAX_PER_ACCOUNT": ("5", 5),
    "SIGN_IN_MAX_PER_ADDRESS": ("25", 25),
    "SIGN_IN_WINDOW_SECONDS": ("600", 600),
    "SIGN_IN_REDIS_PREFIX": ("city-b-signin:", "city-b-signin:"),
    "PROXY_HOPS": ("1", 1),
    "INGEST_STATEMENT_TIMEOUT": ("45", 45.0),
    "MAX_CONTENT_LENGTH": ("2097152", 2097152),
    "LOG_LEVEL": ("warning", "WARNING"),
}
PROJECT_LOGGERS = ("api", "bot", "carbon_credit")


@pytest.fixture
def environment(monkeypatch):
    """A clean environment for the settings; the project's log levels are put back afterwards."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    levels = {name: logging.getLogger(name).level for name in PROJECT_LOGGERS}
    yield monkeypatch
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def readme_table() -> list[tuple[str, str]]:
    """(variable, default cell) of each row of README.md's configuration table."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(TABLE_HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = re.fullmatch(r"`([A-Z0-9_]+)`", cells[0])
        assert name, f"not one variable in backticks: {cells[0]!r}"
        rows.append((name.group(1), cells[1]))
    return rows


def test_every_setting_set_in_the_environment_reaches_the_app_config(environment):
    assert set(SAMPLES) == {setting.name for setting in SETTINGS}
    for name, (raw, _) in SAMPLES.items():
        environment.setenv(name, raw)
    app = create_app({"TESTING": True})
    for setting in SETTINGS:
        assert app.config[setting.config_key] == SAMPLES[setting.name][1], setting.name


@pytest.mark.parametrize("name, raw", [
    ("WECHAT_OUTBOX_BATCH", "fifty"),
    ("WECHAT_OUTBOX_BATCH", "0"),  # a batch of nothing would never finish
    ("TOKEN_TTL_SECONDS", "12h"),
    ("CARD_CLAIM_WINDOW_DAYS", "-1"),
    ("NOTIFICATIONS_KEEP_DAYS", "0"),  # a message would be forgotten the moment it was sent
    ("WECHAT_API_TIMEOUT", "ten"),
    ("LOG_LEVEL", "loud"),
])
def test_a_malformed_value_stops_the_start_with_a_message_naming_the_variable(environment, name, raw):
    environment.setenv(name, raw)
    with pytest.raises(ConfigurationError, match=rf"^{name}='{re.escape(raw)}' is not "):
        create_app({"TESTING": True})


def test_an_empty_variable_means_its_default(environment):
    environment.setenv("WECHAT_OUTBOX_BATCH", "")
    environment.setenv("CARD_CLAIM_WINDOW_DAYS", "")
    app = create_app({"TESTING": True})
    assert (app.config["WECHAT_OUTBOX_BATCH"], app.config["CARD_CLAIM_WINDOW_DAYS"]) == (50, 7)


def test_the_readme_table_lists_exactly_the_settings_in_their_order_with_their_defaults():
    rows = readme_table()
    assert [name for name, _ in rows] == [setting.name for setting in SETTINGS]
    defaults = dict(rows)
    for setting in SETTINGS:
        documented = defaults[setting.name]
        if isinstance(setting.default, (int, float, str)) and setting.default and documented.startswith("`"):
            assert documented == f"`{setting.default}`", setting.name
        if isinstance(setting.default, (int, float)):
            assert documented == f"`{setting.default}`", setting.name
