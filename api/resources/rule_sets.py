"""Rule-set versions (admins): draft from the active version, edit, validate, preview, activate, compare."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from carbon_credit.errors import NoActiveRuleSet
from carbon_credit.models import RuleSet
from carbon_credit.rules.preview import preview_rule_set
from carbon_credit.rules.versions import (
    activate_rule_set,
    create_draft,
    diff_rule_sets,
    discard_draft,
    get_rule_set,
    rule_set_in_force,
    state_of,
    update_caps,
    update_rule,
    validate_rule_set,
)
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.rules import (
    ActivateSchema,
    CapsBodySchema,
    DiffQuerySchema,
    DiffSchema,
    PreviewBodySchema,
    PreviewSchema,
    RulePatchSchema,
    RuleSchema,
    RuleSetCreateSchema,
    RuleSetSchema,
    RuleSetSummarySchema,
    ValidationResultSchema,
)

blp = Blueprint("rule_sets", __name__, url_prefix="/api/v1/rule-sets",
                description="Versioned point rules (admins). An activated version is never edited.")
FROZEN = "rule_set_frozen: the version was activated or discarded; make a new draft"


def _current(now):
    try:
        return rule_set_in_force(db.session, now)
    except NoActiveRuleSet:
        return None


def view(rule_set: RuleSet, now=None, current=None) -> dict:
    """A version as the API shows it, with its state as a person reads it."""
    now = now or utcnow()
    current = current if current is not None else _current(now)
    fields = ("id", "version", "effective_from", "based_on_id", "note", "created_by", "created_at",
              "activated_by", "activated_at")
    return {**{name: getattr(rule_set, name) for name in fields}, "state": state_of(rule_set, current, now),
            "rules": rule_set.rules, "caps": rule_set.caps or []}


def _stored(value):
    """JSON-safe storage of exact numbers: integers stay integers, other decimals become strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


def _rule_changes(body: dict) -> dict:
    changes = dict(body)
    for name in ("factors", "evidence_weights"):
        if name in changes:
            changes[name] = _stored(changes[name])
    if "factors" in changes:  # factors keep their numbers as exact strings, like the shipped rule set
        changes["factors"] = [{**{k: v for k, v in f.items() if v is not None},
                               "grams_per_unit": str(f["grams_per_unit"])} for f in changes["factors"]]
    return changes


@blp.get("")
@auth_required("admin")
@blp.response(200, RuleSetSummarySchema(many=True))
def index():
    """Every version, newest first, with its state: draft, scheduled, active, superseded or discarded."""
    now = utcnow()
    current = _current(now)
    rule_sets = db.session.execute(select(RuleSet).order_by(RuleSet.version.desc())).scalars()
    return [view(rule_set, now, current) for rule_set in rule_sets]


@blp.post("")
@auth_required("admin")
@blp.arguments(RuleSetCreateSchema)
@blp.response(201, RuleSetSchema)
@blp.alt_response(409, schema=ErrorSchema, description="no_active_rule_set to copy from")
def create(body):
    """Make a draft: a copy of `based_on_id`, or of the version in force now."""
    draft = create_draft(db.session, utcnow(), actor_id=current_principal().id, **body)
    db.session.commit()
    return view(draft)


@blp.get("/<int:rule_set_id>")
@auth_required("admin")
@blp.response(200, RuleSetSchema)
@blp.alt_response(404, schema=ErrorSchema, description="rule_set_not_found")
def detail(rule_set_id):
    """One version with every rule (method, factors with their sources, weights, limits) and its caps."""
    return view(get_rule_set(db.session, rule_set_id))


@blp.patch("/<int:rule_set_id>/rules/<action_type>")
@auth_required("admin")
@blp.arguments(RulePatchSchema)
@blp.response(200, RuleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=FROZEN)
@blp.alt_response(422, schema=ErrorSchema, description="validation_error or rule_set_invalid with field errors")
def update_rule_view(changes, rule_set_id, action_type):
    """Change one action type's rule in a draft (or add one). Every factor needs its source. Audited."""
    rule_set = get_rule_set(db.session, rule_set_id)
    rule = update_rule(db.session, rule_set, action_type, _rule_changes(changes), utcnow(),
                       actor_id=current_principal().id)
    db.session.commit()
    return rule


@blp.put("/<int:rule_set_id>/caps")
@auth_required("admin")
@blp.arguments(CapsBodySchema)
@blp.response(200, RuleSetSchema)
@blp.alt_response(409, schema=ErrorSchema, description=FROZEN)
def replace_caps(body, rule_set_id):
    """Replace a draft's caps (per day/week/month/year on the Asia/Shanghai calendar). Audited."""
    rule_set = get_rule_set(db.session, rule_set_id)
    update_caps(db.session, rule_set, _stored(body["caps"]), utcnow(), actor_id=current_principal().id)
    db.session.commit()
    return view(rule_set)


@blp.post("/<int:rule_set_id>/validate")
@auth_required("admin")
@blp.response(200, ValidationResultSchema)
def validate(rule_set_id):
    """Every problem that would stop activation; `valid` is true when there is none."""
    problems = validate_rule_set(db.session, get_rule_set(db.session, rule_set_id))
    return {"valid": not problems, "problems": problems}


@blp.post("/<int:rule_set_id>/preview")
@auth_required("admin")
@blp.arguments(PreviewBodySchema)
@blp.response(200, PreviewSchema)
@blp.alt_response(422, schema=ErrorSchema, description="rule_set_invalid: fix the problems first")
def preview(body, rule_set_id):
    """What this version would have credited over the last `days` days of recorded actions, beside the
    version in force: totals per action type and how residents' points would shift. Nothing is written."""
    return preview_rule_set(db.session, get_rule_set(db.session, rule_set_id), utcnow(), body["days"])


@blp.post("/<int:rule_set_id>/activate")
@auth_required("admin")
@blp.arguments(ActivateSchema)
@blp.response(200, RuleSetSchema)
@blp.alt_response(409, schema=ErrorSchema, description=f"{FROZEN}; effective_date_conflict")
@blp.alt_response(422, schema=ErrorSchema, description="rule_set_invalid; effective_from in the past")
def activate(body, rule_set_id):
    """Freeze a valid draft and put it in force from `effective_from` (default: now). Audited.

    Actions that happened before that moment keep the version of their time."""
    now = utcnow()
    rule_set = get_rule_set(db.session, rule_set_id)
    activate_rule_set(db.session, rule_set, body.get("effective_from") or now, now, actor_id=current_principal().id)
    db.session.commit()
    return view(rule_set, now)


@blp.delete("/<int:rule_set_id>")
@auth_required("admin")
@blp.response(200, RuleSetSummarySchema)
@blp.alt_response(409, schema=ErrorSchema, description=FROZEN)
def discard(rule_set_id):
    """Discard a draft (it stays listed as discarded). Audited."""
    rule_set = discard_draft(db.session, get_rule_set(db.session, rule_set_id), utcnow(),
                             actor_id=current_principal().id)
    db.session.commit()
    return view(rule_set)


@blp.get("/diff")
@auth_required("admin")
@blp.arguments(DiffQuerySchema, location="query")
@blp.response(200, DiffSchema)
@blp.alt_response(404, schema=ErrorSchema, description="rule_set_not_found")
def diff(args):
    """Field-level differences between two versions: rules first, then caps."""
    old, new = get_rule_set(db.session, args["from_id"]), get_rule_set(db.session, args["to_id"])
    return {"from": {"id": old.id, "version": old.version}, "to": {"id": new.id, "version": new.version},
            "changes": diff_rule_sets(old, new)}
