"""The platform's shared words: every domain error code has Chinese, carbon amounts never overstate."""
from __future__ import annotations

import ast
import importlib
import pkgutil
from decimal import Decimal
from pathlib import Path

import pytest

import carbon_credit
from carbon_credit.errors import DomainError
from carbon_credit.texts import ERROR_TEXTS, GENERIC_ERROR, error_text, format_carbon, format_kilograms, kilograms

DOMAIN = Path(carbon_credit.__file__).resolve().parent


def _error_classes() -> dict[str, type]:
    for module in pkgutil.walk_packages(carbon_credit.__path__, "carbon_credit."):
        importlib.import_module(module.name)
    found, todo = {"DomainError": DomainError}, [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found[sub.__name__] = sub
            todo.append(sub)
    return found


def raised_codes() -> set[str]:
    """Every error class's code, and every ``code="..."`` given to an error class in carbon_credit's source."""
    classes = _error_classes()
    codes = {cls.code for cls in classes.values() if cls.__module__.startswith("carbon_credit")}
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in classes:
                codes.update(kw.value.value for kw in node.keywords
                             if kw.arg == "code" and isinstance(kw.value, ast.Constant))
    return codes


def test_every_error_code_raised_in_the_domain_has_a_chinese_message():
    codes = raised_codes()
    assert len(codes) > 80  # the source was read, not skipped
    assert sorted(codes - set(ERROR_TEXTS)) == []


def test_wechat_not_configured_is_one_error_used_by_the_api_and_the_bot():
    from api import wechat_oauth
    from bot.outbound import client
    from carbon_credit.errors import WeChatNotConfigured

    assert wechat_oauth.WeChatNotConfigured is WeChatNotConfigured is client.WeChatNotConfigured
    assert [cls for cls in _error_classes().values() if cls.code == "wechat_not_configured"] == [WeChatNotConfigured]


def test_error_text_fills_its_context_and_leaves_an_unfilled_placeholder_out():
    assert error_text("wechat_api_error", detail="48001") == "微信拒绝了请求或无法连接：48001"
    assert error_text("wechat_api_error") == "微信拒绝了请求或无法连接："
    assert error_text("no_such_code") == GENERIC_ERROR.format(code="no_such_code")


@pytest.mark.parametrize("grams, text", [
    (0, "0 克"), (1, "1 克"), (999, "999 克"), (1000, "1 千克"), (1001, "1 千克"), (1009, "1 千克"),
    (1010, "1.01 千克"), (1500, "1.5 千克"), (1999, "1.99 千克"), (2000, "2 千克"), (12_345_678, "12,345.67 千克"),
    (-1999, "-1.99 千克"), (-999, "-999 克"),
])
def test_carbon_is_written_in_grams_or_kilograms_rounded_down(grams, text):
    assert format_carbon(grams) == text


def test_a_carbon_amount_is_never_overstated():
    for grams in range(0, 20_000, 7):
        shown = format_carbon(grams)
        value, unit = shown.split(" ")
        measured = Decimal(value.replace(",", "")) * (1000 if unit == "千克" else 1)
        assert measured <= grams and grams - measured < 10, shown


def test_the_faces_write_carbon_with_the_one_formatter(app):
    from bot.outbound.templates import display_values

    assert app.jinja_env.filters["carbon"](1_999) == "1.99 千克"
    assert (app.jinja_env.filters["kg"](1_999), app.jinja_env.filters["kg"](1_999, 2)) == ("1.9", "1.99")
    assert display_values({"grams": 1_999})["grams_text"] == "1.99 千克"
    assert display_values({"grams": 999})["grams_text"] == "999 克"


@pytest.mark.parametrize("grams, places, shown", [
    (1_999, 1, "1.9"), (1_999, 2, "1.99"), (2_000, 1, "2.0"), (49, 1, "0.0"), (1_234_567, 1, "1,234.5"),
    (999.99, 2, "0.99"), (-1_999, 1, "-1.9"),
])
def test_kilograms_for_tables_and_charts_round_down(grams, places, shown):
    assert format_kilograms(grams, places) == shown
    assert abs(kilograms(grams, places)) <= abs(Decimal(str(grams))) / 1000  # never more than was avoided


def test_the_campaign_results_message_does_not_round_up():
    from types import SimpleNamespace

    from carbon_credit.campaigns.texts import results_text

    text = results_text(SimpleNamespace(title="垃圾分类周"), 3, 4, 1_999, 40)
    assert "减少碳排放 1.99 千克" in text and "2.0" not in text
