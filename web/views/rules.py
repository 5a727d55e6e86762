"""规则 (admins only, as in the API): the version in force, drafts, validation, preview, activation, history, diff."""
from __future__ import annotations

from decimal import Decimal

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from carbon_credit.errors import DomainError, NoActiveRuleSet, NotFound, RuleSetInvalid
from carbon_credit.models import ActionType, RuleSet
from carbon_credit.rules.preview import preview_rule_set
from carbon_credit.rules.versions import (
    activate_rule_set,
    create_draft,
    diff_rule_sets,
    discard_draft,
    get_rule_set,
    rule_set_in_force,
    state_of,
    update_rule,
    validate_rule_set,
)
from carbon_credit.timeutil import start_of_local_day, utcnow

from .. import texts
from ..database import db
from ..forms import ActionForm, ActivateForm, PreviewFilter, RuleForm
from . import console


def _in_force(now):
    try:
        return rule_set_in_force(db.session, now)
    except NoActiveRuleSet:
        return None


def _action_types() -> dict:
    return {t.code: t for t in db.session.execute(select(ActionType)).scalars()}


def _versions(now):
    current = _in_force(now)
    rows = db.session.execute(select(RuleSet).order_by(RuleSet.version.desc())).scalars().all()
    return current, [(r, state_of(r, current, now)) for r in rows]


@console.get("/rules")
def rules():
    now = utcnow()
    current, versions = _versions(now)
    return render_template("console/rules.html", current=current, versions=versions, types=_action_types(),
                           form=ActionForm())


@console.post("/rules/drafts")
def rule_draft_new():
    ActionForm().validate_on_submit()
    based_on = request.form.get("based_on", "")
    draft = create_draft(db.session, utcnow(), actor_id=g.staff.id,
                         based_on_id=int(based_on) if based_on.isdigit() else None,
                         note=(request.form.get("note") or "").strip()[:500])
    db.session.commit()
    flash(f"已新建草稿第 {draft.version} 版（复制自当前生效版本），请修改后校验、试算再启用。")
    return redirect(url_for("console.rule_set", rule_set_id=draft.id))


def _show(rule_set, *, problems=None, activate_form=None, status=200):
    now = utcnow()
    current = _in_force(now)
    based_on = get_rule_set(db.session, rule_set.based_on_id).version if rule_set.based_on_id else None
    return render_template("console/rule_set.html", rule_set=rule_set, state=state_of(rule_set, current, now),
                           types=_action_types(), problems=problems, based_on=based_on,
                           activate_form=activate_form or ActivateForm(formdata=None)), status


@console.get("/rules/<int:rule_set_id>")
def rule_set(rule_set_id):
    return _show(get_rule_set(db.session, rule_set_id))


@console.post("/rules/<int:rule_set_id>/validate")
def rule_validate(rule_set_id):
    ActionForm().validate_on_submit()
    found = get_rule_set(db.session, rule_set_id)
    problems = texts.rule_problems(validate_rule_set(db.session, found), _action_types())
    if not problems:
        flash(f"第 {found.version} 版校验通过，可以试算和启用。")
        return redirect(url_for("console.rule_set", rule_set_id=found.id))
    return _show(found, problems=problems, status=422)


@console.post("/rules/<int:rule_set_id>/activate")
def rule_activate(rule_set_id):
    found = get_rule_set(db.session, rule_set_id)
    form = ActivateForm()
    if not form.validate_on_submit():
        return _show(found, activate_form=form, status=422)
    now = utcnow()
    starts = start_of_local_day(form.effective_on.data) if form.effective_on.data else now
    try:
        activate_rule_set(db.session, found, starts, now, actor_id=g.staff.id)
    except DomainError as error:
        db.session.rollback()
        problems = texts.rule_problems([{"field": f, "message": m} for f, ms in (error.errors or {}).items()
                                        for m in ms], _action_types())
        form.effective_on.errors = [texts.error_text(error.code)] if error.code != "rule_set_invalid" else []
        return _show(get_rule_set(db.session, rule_set_id), problems=problems or None, activate_form=form,
                     status=getattr(error, "status", 400))
    db.session.commit()
    flash(f"第 {found.version} 版已启用" + ("，立即生效。" if starts == now else f"，自 {form.effective_on.data} 起生效。"))
    return redirect(url_for("console.rules"))


@console.post("/rules/<int:rule_set_id>/discard")
def rule_discard(rule_set_id):
    ActionForm().validate_on_submit()
    found = discard_draft(db.session, get_rule_set(db.session, rule_set_id), utcnow(), actor_id=g.staff.id)
    db.session.commit()
    flash(f"草稿第 {found.version} 版已作废。")
    return redirect(url_for("console.rules"))


def _plain(value):
    """1.0000 as 1, 0.0200 as 0.02: the number as a person types it."""
    return None if value is None else Decimal(format(Decimal(str(value)).normalize(), "f"))


def _fill(form, rule):
    if request.method == "GET":
        form.points_per_gram.data, form.points_per_unit.data = _plain(rule.points_per_gram), _plain(rule.points_per_unit)
        form.max_quantity.data, form.source.data = _plain(rule.max_quantity), rule.source
        for factor in rule.factors or []:
            form.factors.append_entry({"grams_per_unit": factor.get("grams_per_unit"), "source": factor.get("source")})
    for entry, factor in zip(form.factors, rule.factors or []):
        unit = texts.UNIT.get(factor.get("unit"), factor.get("unit"))
        entry.form.grams_per_unit.label.text = f"每{unit}减排量（克 CO₂e）"
        entry.form.source.label.text = f"每{unit}系数的来源（须与该数值对应）"


def _changes(form, rule) -> dict:
    factors = [{**old, "grams_per_unit": str(entry.form.grams_per_unit.data), "source": entry.form.source.data.strip()}
               for entry, old in zip(form.factors, rule.factors or [])]
    changes = {"points_per_gram": form.points_per_gram.data, "points_per_unit": form.points_per_unit.data,
               "max_quantity": form.max_quantity.data}
    if factors:
        changes["factors"] = factors
    if rule.method != "per_unit":  # a per-unit rule's source follows its factors' citations
        changes["source"] = (form.source.data or "").strip()
    return changes


def _refused(form, error: DomainError, action_type: str) -> None:
    prefix = f"rules.{action_type}."
    for path, messages in (error.errors or {}).items():
        name = path[len(prefix):] if path.startswith(prefix) else path
        parts = name.split(".")
        target = None
        if parts[0] == "factors" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(form.factors):
            target = getattr(form.factors[int(parts[1])].form, parts[2], None)
        elif hasattr(form, parts[0]) and parts[0] != "factors":
            target = getattr(form, parts[0])
        chinese = [texts.field_message(m) for m in messages]
        if target is not None:
            target.errors = list(target.errors) + chinese
        else:
            form.form_errors.append(f"{texts.rule_field(name)}：{'；'.join(chinese)}")
    if not error.errors:
        form.form_errors.append(texts.error_text(error.code))


@console.route("/rules/<int:rule_set_id>/rules/<action_type>", methods=["GET", "POST"])
def rule_edit(rule_set_id, action_type):
    found = get_rule_set(db.session, rule_set_id)
    rule = found.rule_for(action_type)
    kind = _action_types().get(action_type)
    if rule is None or kind is None:
        raise NotFound(code="not_found")
    form = RuleForm()
    _fill(form, rule)
    status = 200
    if form.validate_on_submit():
        try:
            update_rule(db.session, found, action_type, _changes(form, rule), utcnow(), actor_id=g.staff.id)
        except DomainError as error:
            db.session.rollback()
            found = get_rule_set(db.session, rule_set_id)
            rule = found.rule_for(action_type)
            _refused(form, error, action_type)
            status = getattr(error, "status", 422)
        else:
            db.session.commit()
            flash(f"已保存「{kind.name}」的规则。")
            return redirect(url_for("console.rule_set", rule_set_id=found.id))
    if status == 200 and (form.errors or form.form_errors):
        status = 422
    return render_template("console/rule_form.html", form=form, rule_set=found, rule=rule, kind=kind,
                           editable=found.status == "draft", refused=status != 200), status


@console.get("/rules/<int:rule_set_id>/preview")
def rule_preview(rule_set_id):
    found = get_rule_set(db.session, rule_set_id)
    form = PreviewFilter(request.args)
    days = form.days.data if form.validate() and form.days.data else 30
    try:
        result = preview_rule_set(db.session, found, utcnow(), days)
    except RuleSetInvalid as error:
        problems = texts.rule_problems([{"field": f, "message": m} for f, ms in (error.errors or {}).items()
                                        for m in ms], _action_types())
        return _show(found, problems=problems, status=422)
    types = _action_types()
    chart = {"types": [types[t["action_type"]].name if t["action_type"] in types else t["action_type"]
                       for t in result["by_action_type"]],
             "current": [t["current"]["points"] for t in result["by_action_type"]],
             "draft": [t["draft"]["points"] for t in result["by_action_type"]],
             "residents": {k: result["residents"][k] for k in ("gaining", "losing", "unchanged")}}
    return render_template("console/rule_preview.html", rule_set=found, result=result, types=types, form=form,
                           chart=chart), 422 if form.errors else 200


@console.get("/rules/diff")
def rule_diff():
    now = utcnow()
    current, versions = _versions(now)
    ids = {r.id for r, _ in versions}
    chosen = [request.args.get(k, "") for k in ("from", "to")]
    old = new = changes = None
    if all(v.isdigit() and int(v) in ids for v in chosen):
        old, new = get_rule_set(db.session, int(chosen[0])), get_rule_set(db.session, int(chosen[1]))
        changes = [texts.rule_change(c, _action_types()) for c in diff_rule_sets(old, new)]
    elif any(chosen):
        return render_template("console/rule_diff.html", versions=versions, old=None, new=None, changes=None,
                               error="请从列表中选择两个版本。"), 422
    return render_template("console/rule_diff.html", versions=versions, old=old, new=new, changes=changes,
                           error=None)
