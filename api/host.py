"""What the host (``create_app``) offers the faces it registers.

A face is a package with a ``register(app)`` function, declared as an entry point
in the ``carbon_credit.faces`` group (pyproject.toml). The host finds the faces
installed, calls each ``register(app)``, and the face mounts its own routes,
commands, jobs and documented resources. Faces never import ``api``: they find
what the host offers on the application:

- ``app.extensions["sqlalchemy"]``: the database (Flask-SQLAlchemy);
- ``app.extensions["carbon_jobs"]``: the job registry the scheduler runs (``JobRegistry.add``);
- ``app.extensions["carbon_host"]``: a ``Host``, for resources documented in the OpenAPI spec.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable, Iterable

from flask import Flask

log = logging.getLogger(__name__)

FACES_GROUP = "carbon_credit.faces"
HOST_EXTENSION = "carbon_host"


@dataclass(frozen=True)
class Host:
    """The API's building blocks a face's documented resources use."""

    api: object  # the flask-smorest Api: register_blueprint(blp) puts a resource in the OpenAPI spec
    auth_required: Callable  # decorator: @host.auth_required("admin", "worker")
    current_principal: Callable  # who the request's bearer token names
    error_schema: type  # the one error envelope, for alt_response documentation
    blueprint: type  # the Blueprint class whose parser bounds every argument (api/inputs.py): use it for resources
    exchange_oauth_code: Callable  # a WeChat web-OAuth code -> the resident's identity (api/wechat_oauth.py)
    dump_resident_export: Callable  # a resident's data export as the API sends it (GET /me/export's JSON)
    partner_cipher: Callable  # the Fernet that encrypts partner secrets at rest (api/partner_auth.py)


def installed_faces() -> dict:
    """The faces' entry points by name (``bot``, ``web``)."""
    return {point.name: point for point in entry_points(group=FACES_GROUP)}


def register_faces(app: Flask, names: Iterable[str] | None = None) -> tuple[str, ...]:
    """Call ``register(app)`` of the faces named (all installed when None), in name order."""
    found = installed_faces()
    if names is None and not found:  # the package's metadata predates the entry points
        raise LookupError(f"no faces are declared in the {FACES_GROUP!r} entry-point group; reinstall the "
                          f"package (pip install -e .), or pass faces=() for the JSON API alone")
    wanted = tuple(sorted(found)) if names is None else tuple(names)
    missing = [name for name in wanted if name not in found]
    if missing:
        raise LookupError(f"faces {missing} are not installed (installed: {sorted(found)}); "
                          f"reinstall the package (pip install -e .) to declare them")
    for name in wanted:
        found[name].load()(app)
    log.debug("faces registered: %s", ", ".join(wanted) or "none")
    return wanted
