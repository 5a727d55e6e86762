"""``flask wechat menu`` and ``flask wechat qrcode station|campaign ID`` (added to the group by ``bot.register``)."""
from __future__ import annotations

import json

import click
import requests
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from wechatpy.exceptions import WeChatClientException

from carbon_credit.errors import DomainError, WeChatNotConfigured
from carbon_credit.timeutil import utcnow

from ..database import db
from .client import describe_error, get_client
from .menu import menu_for, menu_problems, publish_configured_menu
from .qr_targets import qrcode_for_request, resolve_qr_request
from .qrcodes import image_url


def _client():
    try:
        return get_client()
    except WeChatNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc


def _domain_message(exc: DomainError) -> str:
    details = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in (exc.errors or {}).items())
    return f"{exc.message} {details}".strip()


@click.command("menu")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Check and print the menu without calling WeChat.")
def menu_command(dry_run):
    """Publish the official account's menu (VIEW buttons open the H5 pages under WECHAT_H5_URL when set)."""
    menu = menu_for(current_app.config)
    problems = menu_problems(menu)
    if problems:
        raise click.ClickException("The menu breaks WeChat's limits: " + "; ".join(problems))
    if dry_run:
        click.echo(json.dumps(menu, ensure_ascii=False, indent=2))
        return
    try:
        publication = publish_configured_menu(db.session, _client(), current_app.config, utcnow())
    except (WeChatClientException, requests.RequestException) as exc:
        raise click.ClickException(describe_error(exc)) from exc
    click.echo(json.dumps(publication.answer, ensure_ascii=False))
    if publication.offline:
        click.echo("WeChat is offline on this server (WECHAT_OFFLINE): the menu was recorded, not published.")


@click.group("qrcode", cls=AppGroup)
def qrcode_cli():
    """Create (or show the stored) check-in QR code of a station or a campaign."""


def _make_qrcode(target_type: str, target_id: int, days: int | None) -> None:
    try:
        request = resolve_qr_request(db.session, target_type, target_id, days=days)
        client = _client()
        db.session.commit()  # end the read transaction before the token store may write (SQLite)
        code, created = qrcode_for_request(db.session, client, request, utcnow())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(_domain_message(exc)) from exc
    except (WeChatClientException, requests.RequestException) as exc:
        db.session.rollback()
        raise click.ClickException(describe_error(exc)) from exc
    click.echo(f"{'created' if created else 'reused'} {code.kind} QR code for scene {code.scene}"
               + (" (offline: recorded, not issued by WeChat; it encodes the scene itself)" if code.offline else ""))
    click.echo(f"expires: {code.expires_at.isoformat() if code.expires_at else 'never'}")
    click.echo(f"ticket:  {code.ticket}")
    click.echo(f"image:   {image_url(code.ticket)}")


@qrcode_cli.command("station")
@click.argument("station_id", type=int)
def station_qrcode(station_id):
    """A permanent code (scene station:ID) to print at a recycling station."""
    _make_qrcode("station", station_id, None)


@qrcode_cli.command("campaign")
@click.argument("campaign_id", type=int)
@click.option("--days", type=click.IntRange(1, 30), default=None, help="Days the code stays valid (1-30, default 30).")
def campaign_qrcode(campaign_id, days):
    """A temporary code (scene campaign:ID) for a campaign's check-ins."""
    _make_qrcode("campaign", campaign_id, days)
