"""The WeChat face of the platform: the /wechat callback, handlers and outbound messages."""
from __future__ import annotations


def register(app) -> None:
    """Attach the bot to the application: the ``flask wechat`` command group."""
    from .cli import wechat_cli

    app.cli.add_command(wechat_cli)
