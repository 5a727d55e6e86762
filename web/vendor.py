"""Front-end libraries served from ``node_modules`` (installed by ``npm ci``), never from a CDN.

Only the files listed here are served; a missing one is reported in the log at
start-up and on every console page, telling the operator to run ``npm ci``.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, current_app, send_from_directory

# The name a page asks for → the file inside node_modules.
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
    "jweixin.js": "weixin-js-sdk/index.js",  # the residents' pages inside WeChat (JS-SDK 1.6)
}
MISSING_HINT = "控制台所需的前端库缺失（{files}）：请在项目根目录运行 npm ci 后重启服务。"


def node_modules(app: Flask) -> Path:
    configured = app.config.get("CONSOLE_NODE_MODULES")
    return Path(configured) if configured else Path(app.root_path).parent / "node_modules"


def missing_vendor_files(app: Flask) -> list[str]:
    root = node_modules(app)
    return [name for name, path in VENDOR_FILES.items() if not (root / path).is_file()]


def check_vendor_files(app: Flask) -> None:
    missing = missing_vendor_files(app)
    app.config["CONSOLE_VENDOR_MISSING"] = missing
    if missing:
        app.logger.error(MISSING_HINT.format(files="、".join(missing)))


def vendor_file(name: str):
    path = VENDOR_FILES.get(name)
    if path is None:
        abort(404)
    root = node_modules(current_app)
    if not (root / path).is_file():
        return MISSING_HINT.format(files=name), 404, {"Content-Type": "text/plain; charset=utf-8"}
    return send_from_directory(root, path, max_age=86400)
