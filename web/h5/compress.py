"""Gzip for the residents' pages: a phone on a weak link downloads a quarter of the bytes.

Only the pages' own responses (HTML, CSS, the vendored JavaScript, JSON) are
compressed, and only when the browser asks for gzip; a reverse proxy that
compresses already sees Content-Encoding set and leaves them alone.
"""
from __future__ import annotations

import gzip

from flask import request

COMPRESSIBLE = {"text/html", "text/css", "application/javascript", "text/javascript", "application/json",
                "image/svg+xml"}
MIN_BYTES = 1024
LEVEL = 6


def gzip_response(response):
    if (response.status_code != 200 or "Content-Encoding" in response.headers
            or response.mimetype not in COMPRESSIBLE
            or "gzip" not in request.headers.get("Accept-Encoding", "").lower()):
        return response
    response.direct_passthrough = False  # files are streamed: read them to compress
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers.pop("ETag", None)  # the stored file's tag names the uncompressed bytes
    response.vary.add("Accept-Encoding")
    return response
