"""Template messages: which WeChat template each notification kind uses, and its field values.

``WECHAT_TEMPLATES`` (JSON in the environment, or a dict in the config) maps a
notification kind to the template chosen in the official account's console::

    {
      "credit":          {"template_id": "…", "fields": {"thing1": "{action_name}", "character_string2": "{points}",
                                                          "time3": "{occurred_at_text}", "character_string4": "{balance}"}},
      "review_result":   {"template_id": "…", "fields": {"thing1": "{action_name}", "phrase2": "{approved_text}",
                                                          "thing3": "{reason_text}"}},
      "expiry_reminder": {"template_id": "…", "fields": {"character_string1": "{points}", "time2": "{expires_on_text}"}},
      "redemption":      {"template_id": "…", "fields": {"thing1": "{reward}", "character_string2": "{voucher_code}",
                                                          "character_string3": "{points}"}},
      "campaign":        …                                              (optional; "url" may be added to any kind)
    }

``fields`` maps the template's keyword names (``thing1``, ``time3`` …) to a
format string over the values below. Since May 2023 WeChat shows no first or
remark line and no colours, and each value holds at most 20 characters: values
are cut to 20 characters with "…".

Values every kind offers: the payload's own keys (credit: action_type, points,
grams, balance, occurred_at, and for the nightly transit digest of a day also
action_types and trips; review_result: action_type, approved, points, reason;
expiry_reminder: points, expires_at; redemption: reward, voucher_code, points;
campaign: campaign_id, title, text), plus ``action_name`` (the action type's
name; for a digest every type of the day's trips, "公交出行、地铁出行"),
``points_text`` ("12积分"), ``grams_text`` ("1.2 千克", carbon_credit.texts.format_carbon),
``occurred_at_text`` ("2026-06-05 10:00", Shanghai time; a digest's day alone,
"2026-06-05"), ``approved_text`` ("已通过"/"未通过"), ``reason_text`` (the reason,
or "无"), ``expires_on_text`` (the last day the points are valid).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from carbon_credit.texts import format_carbon
from carbon_credit.timeutil import TZ, local_date

MAX_FIELD_CHARS = 20
ELLIPSIS = "…"
NAME_SEPARATOR = "、"  # between the names of several action types


@dataclass(frozen=True)
class TemplateSpec:
    template_id: str
    fields: dict
    url: str | None = None


class _Blank(dict):
    def __missing__(self, key):
        return ""


# What an offline server (WECHAT_OFFLINE) uses when WECHAT_TEMPLATES names none: stand-in template ids and
# the fields of the example above, so every notification is recorded with what it would have said.
OFFLINE_TEMPLATES = {
    "credit": {"template_id": "offline-credit", "fields": {
        "thing1": "{action_name}", "character_string2": "{points}", "time3": "{occurred_at_text}",
        "character_string4": "{balance}"}},
    "review_result": {"template_id": "offline-review-result", "fields": {
        "thing1": "{action_name}", "phrase2": "{approved_text}", "thing3": "{reason_text}"}},
    "expiry_reminder": {"template_id": "offline-expiry-reminder", "fields": {
        "character_string1": "{points}", "time2": "{expires_on_text}"}},
    "redemption": {"template_id": "offline-redemption", "fields": {
        "thing1": "{reward}", "character_string2": "{voucher_code}", "character_string3": "{points}"}},
}


def templates_for(config) -> dict[str, TemplateSpec]:
    """The templates of this server: WECHAT_TEMPLATES, or offline without it the stand-ins."""
    raw = config.get("WECHAT_TEMPLATES")
    if not raw and config.get("WECHAT_OFFLINE"):
        raw = OFFLINE_TEMPLATES
    return load_templates(raw)


def load_templates(raw) -> dict[str, TemplateSpec]:
    """Parse WECHAT_TEMPLATES; a mistake names the kind and the field so it can be fixed."""
    if not raw:
        return {}
    config = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(config, dict):
        raise ValueError("WECHAT_TEMPLATES must map notification kinds to {template_id, fields}")
    specs = {}
    for kind, entry in config.items():
        if not isinstance(entry, dict) or not entry.get("template_id") or not isinstance(entry.get("fields"), dict):
            raise ValueError(f"WECHAT_TEMPLATES[{kind!r}] needs a template_id and a fields mapping")
        for name, fmt in entry["fields"].items():
            try:
                str(fmt).format_map(display_values({}))
            except (ValueError, AttributeError, IndexError, KeyError, TypeError) as exc:
                raise ValueError(f"WECHAT_TEMPLATES[{kind!r}].fields[{name!r}]: {exc}") from exc
        specs[kind] = TemplateSpec(str(entry["template_id"]), dict(entry["fields"]), entry.get("url") or None)
    return specs


def clip(value) -> str:
    """One line of at most 20 characters (code points, so no character is ever split)."""
    text = " ".join(str(value).split())
    if len(text) <= MAX_FIELD_CHARS:
        return text
    return text[: MAX_FIELD_CHARS - 1] + ELLIPSIS


def _parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _time_text(value) -> str:
    if isinstance(value, str) and len(value) == 10:  # a day ("2026-06-05"), not a moment
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    moment = _parse_time(value)
    if moment is None:
        return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(TZ)
    return moment.strftime("%Y-%m-%d %H:%M")


def _last_valid_day(value) -> str:
    """Expiry is stored as the first instant points are gone; people read the last day they count."""
    moment = _parse_time(value)
    if moment is None:
        return str(value or "")
    return local_date(moment - timedelta(microseconds=1)).isoformat()


def _grams_text(grams) -> str:
    try:
        grams = int(grams)
    except (TypeError, ValueError):
        return ""
    return format_carbon(grams)


def action_codes(payload: dict) -> list:
    """The action types a payload is about: all of a digest's (``action_types``), or its one ``action_type``."""
    codes = payload.get("action_types")
    if isinstance(codes, list) and codes:
        return [str(code) for code in codes]
    return [payload["action_type"]] if payload.get("action_type") else []


def display_values(payload: dict, action_names: dict | None = None) -> dict:
    """The payload plus the readable forms a template field may use."""
    values = _Blank({key: "" if value is None else value for key, value in payload.items()})
    names = action_names or {}
    values["action_name"] = NAME_SEPARATOR.join(names.get(code, code) for code in action_codes(payload))
    values["points_text"] = f"{payload.get('points', 0)}积分"
    values["grams_text"] = _grams_text(payload.get("grams"))
    values["occurred_at_text"] = _time_text(payload.get("occurred_at"))
    values["approved_text"] = "已通过" if payload.get("approved") else "未通过"
    values["reason_text"] = payload.get("reason") or "无"
    values["expires_on_text"] = _last_valid_day(payload.get("expires_at"))
    return values


def render_data(spec: TemplateSpec, payload: dict, action_names: dict | None = None) -> dict:
    """The ``data`` of a template send: {keyword: {"value": ≤20 characters}}, no colours."""
    values = display_values(payload, action_names)
    return {name: {"value": clip(str(fmt).format_map(values))} for name, fmt in spec.fields.items()}
