"""``flask wechat …``: the one command group of the WeChat face.

The simulator commands (say, scan, click, follow, unfollow) and the outbound
commands (menu, qrcode) attach to ``wechat_cli``; modules add theirs with
``@wechat_cli.command(...)`` and are imported by ``bot.register``.
"""
from __future__ import annotations

from flask.cli import AppGroup

wechat_cli = AppGroup("wechat", help="Try the WeChat bot locally and manage the official account.")
