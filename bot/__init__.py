"""The WeChat face of the platform: the /wechat callback, handlers and outbound messages."""
from __future__ import annotations


def register(app) -> None:
    """Attach the bot to the application: the /wechat callback and the ``flask wechat`` commands."""
    from .callback import bp
    from .cli import wechat_cli
    from .outbound import cli as _outbound_cli  # noqa: F401  (flask wechat menu / qrcode)
    from .outbound.jsapi import register_signer

    app.register_blueprint(bp)
    register_signer(app)
    app.cli.add_command(wechat_cli)
