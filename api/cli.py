"""Operator commands: ``flask residents …`` and ``flask staff …``."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from carbon_credit.errors import DomainError
from carbon_credit.residents.accounts import find_resident_by_openid
from carbon_credit.staff.accounts import STAFF_ROLES, create_staff
from carbon_credit.timeutil import utcnow

from .auth import hash_password, issue_resident_token
from .extensions import db

residents_cli = AppGroup("residents", help="Work with resident accounts.")
staff_cli = AppGroup("staff", help="Manage community workers and admins.")


@residents_cli.command("token")
@click.argument("openid")
def resident_token(openid):
    """Print a bearer token for the resident with OPENID (support work, trying the demo)."""
    resident = find_resident_by_openid(db.session, openid)
    if resident is None:
        raise click.ClickException(f"No resident has the openid {openid!r}.")
    if resident.status != "active":
        raise click.ClickException(f"The resident with openid {openid!r} is {resident.status}, not active.")
    click.echo(issue_resident_token(resident)["access_token"])


def _read_password(password: str | None, from_stdin: bool) -> str:
    """The password from --password-stdin (one line, for automation) or a hidden prompt asked twice."""
    if from_stdin:
        if password is not None:
            raise click.UsageError("Give the password either with --password or on stdin, not both.")
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if password is not None:
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _create(username, role, password, community_ids=(), display_name=""):
    try:
        staff = create_staff(
            db.session,
            utcnow(),
            username=username,
            role=role,
            password=password,
            hash_password=hash_password,
            community_ids=community_ids,
            display_name=display_name,
        )
    except DomainError as exc:
        db.session.rollback()
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.errors or {}).items())
        raise click.ClickException(f"{exc.message} {detail}".strip()) from None
    db.session.commit()
    click.echo(f"Created {role} {staff.username} (id {staff.id}).")


password_options = [
    click.option("--password", default=None, help="Visible in the shell's history: prefer the prompt or stdin."),
    click.option("--password-stdin", "password_stdin", is_flag=True, help="Read the password from one line of stdin."),
]


def _with_password(command):
    for option in reversed(password_options):
        command = option(command)
    return command


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(STAFF_ROLES), required=True)
@_with_password
@click.option("--community", "community_ids", type=int, multiple=True, help="Community id (repeatable).")
@click.option("--display-name", default="", help="Name shown in the worker console.")
def create_staff_command(username, role, password, password_stdin, community_ids, display_name):
    """Add a staff member who signs in at POST /api/v1/auth/token."""
    _create(username, role, _read_password(password, password_stdin), community_ids, display_name)


@staff_cli.command("create-admin")
@click.argument("username")
@_with_password
@click.option("--display-name", default="", help="Name shown in the console.")
def create_admin_command(username, password, password_stdin, display_name):
    """Add an admin (the first one of a new install): the password is asked for twice, or read from stdin."""
    _create(username, "admin", _read_password(password, password_stdin), display_name=display_name)


def register_cli(app) -> None:
    from .cli_demo import demo_command
    from .cli_ingest import ingest_cli
    from .cli_scheduler import scheduler_cli

    for command in (residents_cli, staff_cli, scheduler_cli, ingest_cli, demo_command):
        app.cli.add_command(command)
