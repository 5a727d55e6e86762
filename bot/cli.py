"""``flask wechat …``: the one command group of the WeChat face.

The simulator commands (say, scan, click, follow, unfollow) and the outbound
commands (menu, qrcode) attach to ``wechat_cli``; modules add theirs with
``@wechat_cli.command(...)`` and are imported by ``bot.register``.
"""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup

from .simulator import Simulator, SimulatorError, SimulatorUnreachable, event_push, scan_push, text_push

wechat_cli = AppGroup("wechat", help="Try the WeChat bot locally and manage the official account.")

DEFAULT_URL = "http://127.0.0.1:5000/wechat"
URL_ENV = "CARBON_URL"  # the running server's address, e.g. http://127.0.0.1:5001
DEMO_URL_FILE = "demo-url"  # in the instance folder: where `flask demo` writes the address it serves on
url_option = click.option("--url", default=None, help=(
    f"The running server's callback. Default: ${URL_ENV} + /wechat, else the address the running demo "
    f"wrote to instance/{DEMO_URL_FILE}, else {DEFAULT_URL}."))


def callback_url(explicit: str | None) -> tuple[str, str]:
    """The callback to post to, and where that address came from (for the error message)."""
    if explicit:
        return explicit, "--url"
    base = os.environ.get(URL_ENV, "").strip()
    if base:
        return base.rstrip("/") + "/wechat", URL_ENV
    path = os.path.join(current_app.instance_path, DEMO_URL_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            written = handle.read().strip()
    except OSError:
        written = ""
    if written:
        return written.rstrip("/") + "/wechat", f"{path}, written by the demo when it started"
    return DEFAULT_URL, "the default"


def _send(url: str | None, xml: str) -> None:
    """Post one simulated push with this app's WeChat settings and print the reply."""
    config = current_app.config
    if not config.get("WECHAT_TOKEN"):
        raise click.ClickException("WECHAT_TOKEN is not set: the server cannot verify pushes without it.")
    url, origin = callback_url(url)
    simulator = Simulator(url, config["WECHAT_TOKEN"], config.get("WECHAT_AES_KEY") or "",
                          config.get("WECHAT_APPID") or "")
    try:
        reply = simulator.send(xml)
    except SimulatorUnreachable as error:
        raise click.ClickException(
            f"{error} (the address came from {origin}). Start the server with `flask --app wsgi demo` "
            f"(another port: `--port`), or name its address with --url or {URL_ENV}.") from None
    except SimulatorError as error:
        raise click.ClickException(str(error)) from None
    click.echo(reply or "(no reply: the server answered success)")


@wechat_cli.command("say")
@click.argument("openid")
@click.argument("text", nargs=-1, required=True)
@url_option
def say(openid, text, url):
    """Send TEXT from the follower OPENID, e.g. flask wechat say o-demo-1 余额"""
    _send(url, text_push(openid, " ".join(text)))


@wechat_cli.command("scan")
@click.argument("openid")
@click.argument("scene")
@click.option("--new", is_flag=True, help="Scan as a non-follower (the subscribe with qrscene_ that follows).")
@url_option
def scan(openid, scene, new, url):
    """Scan the parametric QR code SCENE (e.g. campaign:12) as OPENID."""
    _send(url, scan_push(openid, scene, new=new))


@wechat_cli.command("click")
@click.argument("openid")
@click.argument("key")
@url_option
def click_menu(openid, key, url):
    """Tap the menu button KEY (BALANCE, HISTORY, CAMPAIGNS, RANK, BIND_CARD, HELP)."""
    _send(url, event_push(openid, "CLICK", key))


@wechat_cli.command("follow")
@click.argument("openid")
@url_option
def follow(openid, url):
    """Follow the account as OPENID."""
    _send(url, event_push(openid, "subscribe", ""))


@wechat_cli.command("unfollow")
@click.argument("openid")
@url_option
def unfollow(openid, url):
    """Unfollow the account as OPENID (the resident is unlinked; the ledger stays)."""
    _send(url, event_push(openid, "unsubscribe", ""))
