"""活动: campaigns of the caller's communities: list, create, edit, publish, end early, cancel, poster, on-site check-in."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import flash, g, redirect, render_template, request, url_for

from carbon_credit.actions.types import list_action_types
from carbon_credit.campaigns import (
    cancel_campaign,
    check_access,
    check_readable,
    create_campaign,
    end_campaign,
    get_campaign,
    list_campaigns,
    publish_campaign,
    update_campaign,
)
from carbon_credit.campaigns.insights import bonus_examples, participation_counts
from carbon_credit.campaigns.validation import CHECKIN_TYPE
from carbon_credit.errors import Conflict, DomainError, InvalidInput
from carbon_credit.models.campaigns import CAMPAIGN_STATUSES
from carbon_credit.reporting.overview import narrow_scope, visible_communities
from carbon_credit.timeutil import local_date, start_of_local_day, utcnow

from .. import texts
from ..database import db
from ..forms import ActionForm, CampaignForm, CampaignTextForm
from . import console

PAGE_SIZE = 20


def _readable(campaign_id: int):
    return check_readable(get_campaign(db.session, campaign_id), g.scope)


def _writable(campaign_id: int):
    campaign = _readable(campaign_id)
    check_access(campaign, g.scope)
    return campaign


def _page() -> int:
    value = request.args.get("page", "1")
    return max(1, int(value)) if value.isdigit() else 1


@console.get("/campaigns")
def campaigns():
    status = request.args.get("status") or None
    if status not in (None, *CAMPAIGN_STATUSES):
        status = None
    community = request.args.get("community", "")
    selected = narrow_scope(db.session, g.scope, community_id=int(community) if community.isdigit() else None)
    page = _page()
    rows = list_campaigns(db.session, community_ids=selected, status=status, limit=PAGE_SIZE + 1,
                          offset=(page - 1) * PAGE_SIZE)
    has_next, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    return render_template("console/campaigns.html", rows=rows, counts=participation_counts(db.session, [c.id for c in rows]),
                           status=status, community=community, page=page, has_next=has_next,
                           communities=visible_communities(db.session, g.scope), statuses=CAMPAIGN_STATUSES)


def _choices(form) -> None:
    form.community_ids.choices = [(c.id, f"{c.street.name} · {c.name}")
                                  for c in visible_communities(db.session, g.scope)]
    form.action_types.choices = [(t.code, t.name) for t in list_action_types(db.session)
                                 if t.active and t.code != CHECKIN_TYPE]


def _values(form) -> dict:
    """The form's answers as the campaign service's values (Shanghai days → UTC instants)."""
    active_from = start_of_local_day(form.active_from.data)
    active_until = start_of_local_day(form.active_until.data + timedelta(days=1))
    multiplier = form.multiplier.data
    types = list(form.action_types.data or [])
    return {
        "title": form.title.data.strip(), "cover_text": (form.cover_text.data or "").strip(),
        "description": (form.description.data or "").strip(), "community_ids": list(form.community_ids.data),
        "active_from": active_from, "active_until": active_until,
        "visible_from": active_from - timedelta(days=form.show_days_before.data or 0), "visible_until": active_until,
        "action_types": types,
        "multipliers": {t: str(multiplier) for t in types} if multiplier and multiplier > 1 else {},
        "first_action_bonus": form.first_action_bonus.data or 0, "checkin_points": form.checkin_points.data or 0,
        "checkin_daily_limit": form.checkin_daily_limit.data or 1,
        "checkin_total_limit": form.checkin_total_limit.data,
        "checkin_qr": "temporary" if form.checkin_qr.data else None,
    }


def _fill(form, campaign) -> None:
    """A draft's stored settings back into the form."""
    form.title.data, form.cover_text.data, form.description.data = (campaign.title, campaign.cover_text,
                                                                     campaign.description)
    form.community_ids.data = campaign.community_ids
    form.active_from.data = local_date(campaign.active_from)
    form.active_until.data = local_date(campaign.active_until) - timedelta(days=1)
    form.show_days_before.data = max(0, (campaign.active_from - campaign.visible_from).days)
    form.action_types.data = list(campaign.action_types or [])
    values = {Decimal(str(v)) for v in (campaign.multipliers or {}).values()}
    form.multiplier.data = max(values) if values else None
    form.first_action_bonus.data, form.checkin_points.data = campaign.first_action_bonus, campaign.checkin_points
    form.checkin_daily_limit.data = campaign.checkin_daily_limit
    form.checkin_total_limit.data = campaign.checkin_total_limit
    form.checkin_qr.data = bool(campaign.checkin_qr)


def _date_rules(form) -> bool:
    if not hasattr(form, "active_from"):
        return True
    if form.active_from.data and form.active_until.data and form.active_until.data < form.active_from.data:
        form.active_until.errors.append("结束日期不能早于开始日期")
        return False
    return True


def _domain_errors(form, error: DomainError) -> None:
    """Put the service's field errors beside the fields (in Chinese); the rest at the top."""
    db.session.rollback()
    mapping = {"visible_from": "show_days_before", "visible_until": "active_until", "multipliers": "multiplier",
               "remind_days_before": "active_until"}
    fields = texts.field_errors(error.errors)
    for name, messages in fields.items():
        field = getattr(form, mapping.get(name, name), None)
        if field is not None:
            field.errors = list(field.errors) + messages
        else:
            form.form_errors.append(f"{texts.field_label(name)}：{'；'.join(messages)}")
    if not fields:
        form.form_errors.append(texts.error_text(error.code))


def _text_values(form) -> dict:
    return {"title": form.title.data.strip(), "cover_text": (form.cover_text.data or "").strip(),
            "description": (form.description.data or "").strip()}


def _save(form, save, values=_values):
    if not (form.validate_on_submit() and _date_rules(form)):
        return None
    try:
        campaign = save(values(form))
    except (InvalidInput, Conflict) as error:
        _domain_errors(form, error)
        return None
    db.session.commit()
    return campaign


@console.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new():
    form = CampaignForm()
    _choices(form)
    if request.method == "GET":
        today = local_date(utcnow())
        form.active_from.data, form.active_until.data = today + timedelta(days=1), today + timedelta(days=7)
    campaign = _save(form, lambda values: create_campaign(db.session, values, utcnow(), actor_id=g.staff.id,
                                                          allowed_community_ids=g.scope))
    if campaign is not None:
        flash("活动已保存为草稿。检查无误后请点击“发布”。")
        return redirect(url_for("console.campaign", campaign_id=campaign.id))
    return render_template("console/campaign_form.html", form=form, campaign=None), 422 if form.errors else 200


@console.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id):
    campaign = _writable(campaign_id)
    if campaign.status in ("ended", "cancelled"):
        raise Conflict(code="campaign_closed")
    draft = campaign.status == "draft"
    form = CampaignForm() if draft else CampaignTextForm()
    if draft:
        _choices(form)
    if request.method == "GET":
        _fill(form, campaign) if draft else form.process(obj=campaign)

    def save(changes):
        return update_campaign(db.session, campaign.id, changes, utcnow(), actor_id=g.staff.id,
                               allowed_community_ids=g.scope)

    saved = _save(form, save, _values if draft else _text_values)
    if saved is not None:
        flash("已保存修改。")
        return redirect(url_for("console.campaign", campaign_id=campaign.id))
    return render_template("console/campaign_form.html", form=form, campaign=campaign), 422 if form.errors else 200


@console.get("/campaigns/<int:campaign_id>")
def campaign(campaign_id):
    found = _readable(campaign_id)
    now = utcnow()
    return render_template("console/campaign.html", campaign=found, now=now,
                           counts=participation_counts(db.session, [found.id])[found.id],
                           examples=bonus_examples(db.session, found, now), action=ActionForm(),
                           may_change=_may_change(found), type_names={t.code: t.name for t in list_action_types(db.session)})


def _may_change(campaign) -> bool:
    try:
        check_access(campaign, g.scope)
    except DomainError:
        return False
    return True


@console.post("/campaigns/<int:campaign_id>/publish")
def campaign_publish(campaign_id):
    campaign = publish_campaign(db.session, _writable(campaign_id).id, utcnow(), actor_id=g.staff.id,
                                allowed_community_ids=g.scope)
    db.session.commit()
    flash("活动已发布。" + ("现在正在进行中。" if campaign.status == "running" else "到开始日期会自动开始。"))
    return redirect(url_for("console.campaign", campaign_id=campaign.id))


@console.post("/campaigns/<int:campaign_id>/end")
def campaign_end(campaign_id):
    campaign = end_campaign(db.session, _writable(campaign_id).id, utcnow(), actor_id=g.staff.id,
                            allowed_community_ids=g.scope)
    db.session.commit()
    flash("活动已结束：从现在起不再接受报名和签到，新的行为不再有活动奖励；已经获得的积分不受影响。")
    return redirect(url_for("console.campaign", campaign_id=campaign.id))


@console.post("/campaigns/<int:campaign_id>/cancel")
def campaign_cancel(campaign_id):
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash("请填写取消的理由。")
        return redirect(url_for("console.campaign", campaign_id=campaign_id))
    cancel_campaign(db.session, _writable(campaign_id).id, utcnow(), actor_id=g.staff.id,
                    allowed_community_ids=g.scope, reason=reason[:200])
    db.session.commit()
    flash("活动已取消。")
    return redirect(url_for("console.campaign", campaign_id=campaign_id))

