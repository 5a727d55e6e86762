"""The application shell: configuration, the error envelope, the OpenAPI document and the docs."""
from __future__ import annotations

import logging

import pytest

from api import create_app
from api.config import Config, ConfigurationError, normalise_database_url
from api.errors import code_from_name, flatten_locations
from carbon_credit.errors import InsufficientPoints


def assert_envelope(response, status, code):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "errors"}
    return body


# --- configuration -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u:p@db:5432/cc", "postgresql+psycopg://u:p@db:5432/cc"),
        ("postgresql://u@db/cc", "postgresql+psycopg://u@db/cc"),
        ("postgresql+psycopg://u@db/cc", "postgresql+psycopg://u@db/cc"),
        ("sqlite:////var/lib/cc.sqlite3", "sqlite:////var/lib/cc.sqlite3"),
        (None, None),
    ],
)
def test_database_urls_are_pointed_at_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


def test_environment_settings_are_read():
    config = Config(
        {
            "DATABASE_URL": "postgres://db/cc",
            "SECRET_KEY": "s3cret",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "TOKEN_TTL_SECONDS": "600",
            "WECHAT_APPID": "wx123",
        }
    )
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://db/cc"
    assert config.SECRET_KEY == "s3cret"
    assert config.REDIS_URL == "redis://127.0.0.1:6379/0"
    assert config.TOKEN_TTL_SECONDS == 600
    assert config.WECHAT_APPID == "wx123"


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///carbon_credit.sqlite3"
    assert app.config["TOKEN_TTL_SECONDS"] == 12 * 3600


def test_hash_keys_are_derived_from_the_secret_key_unless_given():
    one = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "a"})
    two = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "b"})
    given = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "PHONE_HASH_KEY": "k"})
    assert one.config["CARD_HASH_KEY"] != two.config["CARD_HASH_KEY"]
    assert one.config["CARD_HASH_KEY"] != one.config["PHONE_HASH_KEY"]
    assert given.config["PHONE_HASH_KEY"] == "k"


def test_missing_secret_key_refuses_to_start_outside_testing_and_the_demo(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_config_object_overrides_the_environment():
    class Overrides:
        TESTING = True
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        TOKEN_TTL_SECONDS = 60

    assert create_app(Overrides).config["TOKEN_TTL_SECONDS"] == 60


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    from api.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"})
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


# --- health ----------------------------------------------------------------------------------

def test_pings_answer_ok(client):
    assert client.get("/ping").get_json() == {"status": "ok"}
    assert client.get("/api/v1/ping").get_json() == {"status": "ok"}


# --- the error envelope ------------------------------------------------------------------------

def test_unknown_route_is_a_404_envelope(client):
    assert_envelope(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_a_405_envelope_with_allow_header(client):
    response = client.delete("/api/v1/ping")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_a_400_envelope(client):
    response = client.post("/api/v1/auth/token", data='{"username": "a",', content_type="application/json")
    body = assert_envelope(response, 400, "invalid_json")
    assert "errors" not in body


def test_validation_errors_list_fields_without_the_location_level(client):
    response = client.post("/api/v1/auth/token", json={"username": ""})
    body = assert_envelope(response, 422, "validation_error")
    assert set(body["errors"]) == {"username", "password"}
    assert body["errors"]["password"] == ["Missing data for required field."]


def test_domain_errors_keep_their_code_status_and_field_detail(app, client):
    def spend():
        raise InsufficientPoints(errors={"points": ["Balance is 10."]})

    app.add_url_rule("/test/spend", view_func=spend, methods=["POST"])
    body = assert_envelope(client.post("/test/spend"), 409, "insufficient_points")
    assert body == {"code": "insufficient_points", "message": "Not enough points.", "errors": {"points": ["Balance is 10."]}}


def test_unexpected_errors_are_a_500_envelope_without_internals(app, client, caplog):
    def broken():
        raise RuntimeError("database password is hunter2")

    app.add_url_rule("/test/broken", view_func=broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/test/broken")
    body = assert_envelope(response, 500, "internal_error")
    assert "hunter2" not in response.get_data(as_text=True)
    assert "errors" not in body
    assert "RuntimeError: database password is hunter2" in caplog.text  # logged with traceback


def test_smorest_abort_uses_the_envelope(app, client):
    from flask_smorest import abort

    def gone():
        abort(410, message="This campaign has ended.")

    app.add_url_rule("/test/gone", view_func=gone)
    body = assert_envelope(client.get("/test/gone"), 410, "gone")
    assert body["message"] == "This campaign has ended."


def test_error_codes_are_derived_from_http_names():
    assert code_from_name("Method Not Allowed") == "method_not_allowed"
    assert code_from_name("I'm a teapot") == "im_a_teapot"


def test_locations_are_flattened_and_clashes_keep_their_prefix():
    assert flatten_locations({"json": {"a": ["x"]}}) == {"a": ["x"]}
    assert flatten_locations({"query": {"page": ["x"]}, "json": {"page": ["y"]}}) == {
        "page": ["x"],
        "json.page": ["y"],
    }
    assert flatten_locations({"name": ["x"]}) == {"name": ["x"]}


# --- OpenAPI and docs ----------------------------------------------------------------------

def test_openapi_document_lists_auth_paths_and_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] == "碳普惠 Carbon Inclusion API"
    assert {"/api/v1/auth/token", "/api/v1/auth/wechat", "/api/v1/auth/me"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/v1/auth/token"]["post"]


def test_openapi_documents_the_error_envelope_as_default_response(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"code", "message", "errors"}
    default = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]["default"]
    assert default == {"$ref": "#/components/responses/DEFAULT_ERROR"}


def test_swagger_ui_is_served_with_local_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="docs/assets/swagger-ui-bundle.js"' in html
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert b"SwaggerUIBundle" in asset.data
    asset.close()
