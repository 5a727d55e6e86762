"""Serves the Swagger UI assets from the swagger-ui-bundle package.

The interactive docs at /api/v1/docs then work on a machine without internet
access (a street office's intranet, a demo laptop), instead of loading from a CDN.
"""
from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSET_MAX_AGE = 24 * 3600

assets = Blueprint("swagger_ui_assets", __name__)


@assets.get("/api/v1/docs/assets/<path:filename>")
def swagger_ui_asset(filename):
    return send_from_directory(str(swagger_ui_path), filename, max_age=ASSET_MAX_AGE)
