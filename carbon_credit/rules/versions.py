"""Rule-set versions: find the one in force, draft, edit, validate, activate, compare.

An activated version is frozen. A change is a new draft copied from the active
version, validated, previewed and then activated from an effective date. The
version that applies to an action is the activated one with the latest
``effective_from`` not after the action's time, so past credits never change.
"""
from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from carbon_credit.errors import (
    Conflict,
    InvalidInput,
    NoActiveRuleSet,
    NotFound,
    RuleSetFrozen,
    RuleSetInvalid,
)
from carbon_credit.models import ActionType, Rule, RuleSet
from carbon_credit.rules import compile_rule_set
from carbon_credit.rules.methods import METHODS
from carbon_credit.staff.audit import audit
from carbon_credit.timeutil import PERIODS

RULE_FIELDS = ("method", "factors", "points_per_gram", "points_per_unit", "evidence_weights", "min_quantity",
               "max_quantity", "params", "source")
CAP_METRICS = ("count", "units", "grams", "points")


def rule_set_in_force(session, at: datetime) -> RuleSet:
    rule_set = session.execute(
        select(RuleSet).where(RuleSet.status == "activated", RuleSet.effective_from <= at)
        .order_by(RuleSet.effective_from.desc(), RuleSet.version.desc()).limit(1)
    ).scalar_one_or_none()
    if rule_set is None:
        raise NoActiveRuleSet()
    return rule_set


def compiled_in_force(session, at: datetime):
    """The compiled version in force at ``at``.

    Activated versions are frozen, so the compiled form is cached for the life
    of the session (one request or one batch), never across databases.
    """
    rule_set = rule_set_in_force(session, at)
    cache = session.info.setdefault("compiled_rule_sets", {})
    compiled = cache.get(rule_set.id)
    if compiled is None:
        compiled = cache[rule_set.id] = compile_rule_set(rule_set)
    return compiled


def get_rule_set(session, rule_set_id: int) -> RuleSet:
    rule_set = session.get(RuleSet, rule_set_id)
    if rule_set is None:
        raise NotFound("No such rule set.", code="rule_set_not_found")
    return rule_set


def state_of(rule_set: RuleSet, current: RuleSet | None, now: datetime) -> str:
    """draft | scheduled | active | superseded | discarded, as a person reads it."""
    if rule_set.status != "activated":
        return rule_set.status
    if rule_set.effective_from > now:
        return "scheduled"
    return "active" if current is not None and current.id == rule_set.id else "superseded"


def _copy_rule(rule: Rule) -> Rule:
    """A deep copy: JSON values must not be shared with the frozen version."""
    return Rule(**{name: copy.deepcopy(getattr(rule, name)) for name in ("action_type", *RULE_FIELDS)})


def create_draft(session, now: datetime, *, actor_id=None, based_on_id=None, note: str = "") -> RuleSet:
    """A new draft copied from ``based_on_id`` or from the version in force now."""
    base = get_rule_set(session, based_on_id) if based_on_id else rule_set_in_force(session, now)
    next_version = (session.execute(select(func.max(RuleSet.version))).scalar() or 0) + 1
    draft = RuleSet(version=next_version, status="draft", based_on_id=base.id, note=note,
                    caps=[dict(c) for c in base.caps or []], created_by=actor_id, created_at=now,
                    rules=[_copy_rule(r) for r in base.rules])
    session.add(draft)
    session.flush()
    audit(session, now, "rule_set.draft", "rule_set", draft.id, actor_id=actor_id, version=draft.version,
          based_on=base.version)
    return draft


def _require_draft(rule_set: RuleSet):
    if rule_set.status != "draft":
        raise RuleSetFrozen(f"Version {rule_set.version} is {rule_set.status}; make a new draft to change it.")


def update_rule(session, rule_set: RuleSet, action_type: str, changes: dict, now: datetime, *,
                actor_id=None) -> Rule:
    """Edit (or add) one action type's rule in a draft; the audit log keeps before and after."""
    _require_draft(rule_set)
    if session.get(ActionType, action_type) is None:
        raise NotFound(f"Unknown action type {action_type!r}.", code="unknown_action_type")
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise InvalidInput(errors={name: ["not a rule field"] for name in sorted(unknown)})
    rule = rule_set.rule_for(action_type)
    before = {} if rule is None else {k: _jsonable(getattr(rule, k)) for k in changes}
    if rule is not None and "factors" in changes:
        stale = list(_stale_citations(rule.factors or [], changes["factors"] or []))
        if stale:
            raise RuleSetInvalid(errors={f"rules.{action_type}.{k}": [v] for k, v in stale})
        if "source" not in changes and rule.source == factor_sources(rule.factors or []):
            changes = {**changes, "source": factor_sources(changes["factors"] or [])}
    if rule is None:
        rule = Rule(action_type=action_type, method=changes.get("method", "per_unit"), factors=[],
                    points_per_gram=Decimal(1), points_per_unit=Decimal(0), evidence_weights={}, params={},
                    source="")
        rule_set.rules.append(rule)
    for name, value in changes.items():
        setattr(rule, name, value)
    problems = [p for p in _rule_problems(rule) if p]
    if problems:
        raise RuleSetInvalid(errors={f"rules.{action_type}.{k}": [v] for k, v in problems})
    session.flush()
    audit(session, now, "rule_set.rule_update", "rule_set", rule_set.id, actor_id=actor_id,
          version=rule_set.version, action_type=action_type, before=before,
          after={k: _jsonable(v) for k, v in changes.items()})
    return rule


def factor_sources(factors: list) -> str:
    """A per-unit rule's own source: its factors' citations, each once (as the shipped rules have it)."""
    return "; ".join(dict.fromkeys(str(f.get("source") or "").strip() for f in factors if isinstance(f, dict)))


def _stale_citations(old_factors: list, new_factors: list):
    """A factor whose value changes keeps a citation of the old value unless its source changes too."""
    old_by_unit = {f.get("unit"): f for f in old_factors if isinstance(f, dict)}
    for i, factor in enumerate(new_factors):
        old = old_by_unit.get(factor.get("unit")) if isinstance(factor, dict) else None
        if old is None:
            continue
        before, after = _decimal(old.get("grams_per_unit")), _decimal(factor.get("grams_per_unit"))
        same_source = str(old.get("source") or "").strip() == str(factor.get("source") or "").strip()
        if before is not None and after is not None and before != after and same_source:
            yield (f"factors.{i}.source", f"the factor changes from {_plain(before)} to {_plain(after)}: "
                                          "cite the source of the new value (this one cites the old)")


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def update_caps(session, rule_set: RuleSet, caps: list, now: datetime, *, actor_id=None) -> RuleSet:
    _require_draft(rule_set)
    problems = [p for i, cap in enumerate(caps) for p in _cap_problems(cap, i)]
    if problems:
        raise RuleSetInvalid(errors={k: [v] for k, v in problems})
    before = rule_set.caps
    rule_set.caps = [dict(c) for c in caps]
    session.flush()
    audit(session, now, "rule_set.caps_update", "rule_set", rule_set.id, actor_id=actor_id,
          version=rule_set.version, before=before, after=rule_set.caps)
    return rule_set


def _jsonable(value):
    return str(value) if isinstance(value, Decimal) else value


def _decimal(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _rule_problems(rule: Rule):
    if rule.method not in METHODS:
        yield "method", f"unknown method; choose one of {sorted(METHODS)}"
    if rule.method == "per_unit" and not rule.factors:
        yield "factors", "a per-unit rule needs at least one factor"
    for i, factor in enumerate(rule.factors or []):
        grams = _decimal(factor.get("grams_per_unit"))
        if not factor.get("unit"):
            yield f"factors.{i}.unit", "required"
        if grams is None or grams < 0:
            yield f"factors.{i}.grams_per_unit", "must be a number ≥ 0"
        if not str(factor.get("source") or "").strip():
            yield f"factors.{i}.source", "every factor needs its source citation"
    for name in ("points_per_gram", "points_per_unit"):
        value = _decimal(getattr(rule, name))
        if value is None or value < 0 or value > 1000:
            yield name, "must be a number from 0 to 1000"
    for evidence, weight in (rule.evidence_weights or {}).items():
        value = _decimal(weight)
        if value is None or not (0 <= value <= 1):
            yield f"evidence_weights.{evidence}", "a weight lies between 0 and 1"
    low, high = _decimal(rule.min_quantity), _decimal(rule.max_quantity)
    if rule.min_quantity is not None and (low is None or low < 0):
        yield "min_quantity", "must be ≥ 0"
    if rule.max_quantity is not None and (high is None or high <= 0 or (low is not None and high < low)):
        yield "max_quantity", "must be > 0 and ≥ min_quantity"
    if rule.method == "points_only" and not str(rule.source or "").strip():
        yield "source", "say why this behaviour earns points only"


def _cap_problems(cap: dict, index: int):
    where = f"caps.{index}"
    if not str(cap.get("name") or "").strip():
        yield f"{where}.name", "required"
    if cap.get("period") not in PERIODS:
        yield f"{where}.period", f"one of {list(PERIODS)}"
    if cap.get("metric") not in CAP_METRICS:
        yield f"{where}.metric", f"one of {list(CAP_METRICS)}"
    limit = _decimal(cap.get("limit"))
    if limit is None or limit < 0:
        yield f"{where}.limit", "must be a number ≥ 0"
    types = cap.get("action_types")
    if types is not None and (not isinstance(types, list) or not all(isinstance(t, str) for t in types)):
        yield f"{where}.action_types", "a list of action type codes, or null for all"


def validate_rule_set(session, rule_set: RuleSet) -> list[dict]:
    """Every problem as {"field", "message"}; an empty list means it can be activated."""
    problems = []
    known = set(session.execute(select(ActionType.code)).scalars())
    for rule in rule_set.rules:
        if rule.action_type not in known:
            problems.append({"field": f"rules.{rule.action_type}", "message": "unknown action type"})
        problems += [{"field": f"rules.{rule.action_type}.{k}", "message": v} for k, v in _rule_problems(rule)]
    names = [cap.get("name") for cap in rule_set.caps or []]
    if len(names) != len(set(names)):
        problems.append({"field": "caps", "message": "cap names must be unique"})
    for i, cap in enumerate(rule_set.caps or []):
        problems += [{"field": k, "message": v} for k, v in _cap_problems(cap, i)]
        for code in cap.get("action_types") or []:
            if code not in known:
                problems.append({"field": f"caps.{i}.action_types", "message": f"unknown action type {code}"})
    return problems


def activate_rule_set(session, rule_set: RuleSet, effective_from: datetime, now: datetime, *,
                      actor_id=None) -> RuleSet:
    """Freeze a valid draft and put it in force from ``effective_from`` (now or later)."""
    _require_draft(rule_set)
    if effective_from < now.replace(microsecond=0):
        raise InvalidInput("A version cannot take effect in the past: past credits never change.",
                           errors={"effective_from": ["must be now or later"]})
    latest = session.execute(select(func.max(RuleSet.effective_from))
                             .where(RuleSet.status == "activated")).scalar()
    if latest is not None and effective_from <= latest:
        raise Conflict(f"Another version is already scheduled from {latest.isoformat()}; choose a later date.",
                       code="effective_date_conflict")
    problems = validate_rule_set(session, rule_set)
    if problems:
        raise RuleSetInvalid(errors=_grouped(problems))
    rule_set.status = "activated"
    rule_set.effective_from = effective_from
    rule_set.activated_at = now
    rule_set.activated_by = actor_id
    session.flush()
    audit(session, now, "rule_set.activate", "rule_set", rule_set.id, actor_id=actor_id,
          version=rule_set.version, effective_from=effective_from.isoformat())
    return rule_set


def discard_draft(session, rule_set: RuleSet, now: datetime, *, actor_id=None) -> RuleSet:
    _require_draft(rule_set)
    rule_set.status = "discarded"
    session.flush()
    audit(session, now, "rule_set.discard", "rule_set", rule_set.id, actor_id=actor_id, version=rule_set.version)
    return rule_set


def _grouped(problems: list[dict]) -> dict:
    grouped: dict = {}
    for problem in problems:
        grouped.setdefault(problem["field"], []).append(problem["message"])
    return grouped


# Fields holding numbers, wherever they sit in a rule or a cap: the diff shows each as one kind of
# value (an exact decimal string, as the rule-set views do), whether it was stored as 100 or "100".
NUMBER_FIELDS = {"grams_per_unit", "max_quantity", "min_quantity", "points_per_gram", "points_per_unit", "limit"}


def _typed(value, name: str = ""):
    if isinstance(value, dict):
        if name == "evidence_weights":
            return {k: _number_text(v) for k, v in value.items()}
        return {k: _typed(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v, name) for v in value]
    if name in NUMBER_FIELDS:
        return _number_text(value)
    return value


def _number_text(value):
    number = _decimal(value) if value is not None and not isinstance(value, bool) else None
    return _plain(number) if number is not None and number.is_finite() else value


def _rule_view(rule: Rule) -> dict:
    return {name: _typed(_jsonable(getattr(rule, name)), name) for name in RULE_FIELDS}


def diff_rule_sets(old: RuleSet, new: RuleSet) -> list[dict]:
    """Field-level differences: [{"path", "from", "to"}], rules first, then caps."""
    changes = []
    old_rules = {r.action_type: _rule_view(r) for r in old.rules}
    new_rules = {r.action_type: _rule_view(r) for r in new.rules}
    for code in sorted(set(old_rules) | set(new_rules)):
        before, after = old_rules.get(code), new_rules.get(code)
        if before is None or after is None:
            changes.append({"path": f"rules.{code}", "from": before, "to": after})
            continue
        for name in RULE_FIELDS:
            if _normal(before[name]) != _normal(after[name]):
                changes.append({"path": f"rules.{code}.{name}", "from": before[name], "to": after[name]})
    old_caps = {c["name"]: _typed(c) for c in old.caps or []}
    new_caps = {c["name"]: _typed(c) for c in new.caps or []}
    for name in sorted(set(old_caps) | set(new_caps)):
        if _normal(old_caps.get(name)) != _normal(new_caps.get(name)):
            changes.append({"path": f"caps.{name}", "from": old_caps.get(name), "to": new_caps.get(name)})
    return changes


def _normal(value):
    """Compare numbers by value, so "46.8" and 46.80 are the same factor."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Decimal(str(value)).normalize()
    if isinstance(value, str):
        number = _decimal(value)
        return number.normalize() if number is not None and number.is_finite() else value
    return value
