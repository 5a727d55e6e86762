"""The OpenAPI document is valid, and every input it describes (or almost describes) gets an answer it documents.

The property run generates requests from the document itself: inputs that fit it and
inputs that break it on purpose, for every operation, as an admin, a worker, a resident
and anonymously, against the app in-process. No answer is a 5xx; every status code is one
the operation lists by number (the catch-all ``default`` does not count); every body fits
the schema documented for its status and content type; every 4xx is the one error envelope. It runs on PostgreSQL when TEST_DATABASE_URL is set (where
column widths and NUL bytes matter), on SQLite otherwise. OPENAPI_FUZZ_EXAMPLES raises
the budget per operation and mode for a longer hunt (OPENAPI_FUZZ_RANDOM=1 draws new inputs
on each run instead of the same ones).
"""
from __future__ import annotations

import os
import re

import pytest
import responses
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate

from .api_helpers import feed, install_rules, resident_in
from .conftest import PG_URL
from .outbound_support import QRCODE_CREATE, add_api, add_stable_token, rsps  # noqa: F401  (fixture)

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import checks as st_checks  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402

SPEC_PATH = "/api/v1/openapi.json"
EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "3"))
RANDOM = os.environ.get("OPENAPI_FUZZ_RANDOM") == "1"
WECHAT = re.compile(r"https://api\.weixin\.qq\.com/.*")
OAUTH_REFUSED = {"errcode": 40029, "errmsg": "invalid code"}
CONFORMANCE = [st_checks.content_type_conformance, st_checks.response_schema_conformance,
               st_checks.response_headers_conformance]


def test_the_openapi_document_is_valid(client):
    document = client.get(SPEC_PATH).get_json()
    validate(document)


def test_decimal_bounds_are_numbers_in_the_document(client):
    schemas = client.get(SPEC_PATH).get_json()["components"]["schemas"]
    assert schemas["Factor"]["properties"]["grams_per_unit"]["minimum"] == 0
    assert schemas["WeighIn"]["properties"]["weight_kg"]["minimum"] == 0
    assert schemas["Cap"]["properties"]["limit"]["minimum"] == 0


def test_the_document_describes_headers_files_and_unavailable_answers_as_sent(client):
    document = client.get(SPEC_PATH).get_json()
    residents = document["paths"]["/api/v1/residents/search"]["post"]["responses"]["200"]
    assert residents["headers"]["X-Pagination"]["schema"] == {"type": "string"}
    figures = document["paths"]["/api/v1/figures/communities/{community_id}"]["get"]["responses"]["200"]
    assert {"application/json", "text/csv; charset=utf-8",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} <= set(figures["content"])
    assert "503" in document["paths"]["/api/v1/auth/wechat"]["post"]["responses"]
    assert "503" in document["paths"]["/api/v1/qrcodes"]["post"]["responses"]
    history = document["components"]["schemas"]["HistoryItem"]["properties"]["quantity"]
    assert history["type"] == "number"


def _seed(session):
    install_rules(session)
    resident = resident_in(session)
    feed(session, resident)
    session.commit()
    return resident


def _stub_wechat(mock) -> None:
    """WeChat answers as recorded: tokens and QR codes are issued, sign-in codes refused."""
    add_stable_token(mock)
    add_api(mock, QRCODE_CREATE, "qrcode_create_permanent")
    mock.add(responses.GET, WECHAT, json=OAUTH_REFUSED)
    mock.add(responses.POST, WECHAT, json=OAUTH_REFUSED)


def _case_text(case) -> str:
    return (f"{case.method} {case.formatted_path} query={case.query!r} "
            f"body={str(getattr(case, 'body', None))[:300]!r}")


def error_envelope_problem(response) -> str | None:
    """What keeps a 4xx answer from being the README's error envelope, if anything."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not isinstance(body.get("message"), str):
        return "no code and message"
    if set(body) - {"code", "message", "errors"}:
        return f"other keys {sorted(set(body) - {'code', 'message', 'errors'})}"
    if "errors" in body and not isinstance(body["errors"], dict):
        return "errors is not an object"
    return None


def listed_statuses(operation) -> set[str]:
    return set(operation.definition.raw["responses"]) - {"default"}


def _answer_problem(case, response, listed) -> str | None:
    if response.status_code >= 500:
        return "a server error"
    if str(response.status_code) not in listed:
        return f"status not listed ({sorted(listed)})"
    problem = error_envelope_problem(response)
    if problem:
        return f"error body {problem}"
    try:
        case.validate_response(response, checks=CONFORMANCE)
    except AssertionError as failure:  # schemathesis' failure groups are assertion errors
        return " ".join(str(failure).split())[:300]
    return None


def _run_operation(operation, mode, headers, failures) -> int:
    calls = []
    listed = listed_statuses(operation)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers=headers)
        calls.append(response.status_code)
        problem = _answer_problem(case, response, listed)
        if problem:
            failures.append(f"{response.status_code} {problem}: {_case_text(case)} -> {response.text[:300]}")

    try:
        run()
    except Unsatisfiable:  # nothing to break in an operation without inputs
        pass
    return len(calls)


def test_every_generated_request_gets_a_documented_answer(app, session, client, admin_token, worker_token,
                                                         resident_token, db_url, rsps):  # noqa: F811
    if PG_URL and not db_url.startswith("postgresql"):
        pytest.skip("runs once, on PostgreSQL when it is configured")
    resident = _seed(session)
    _stub_wechat(rsps)
    schema = schemathesis.openapi.from_wsgi(SPEC_PATH, app)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures, calls = [], 0
    for token in (admin_token, worker_token(resident.community), resident_token(resident), None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                calls += _run_operation(operation, mode, headers, failures)
    print(f"OpenAPI property run: {len(operations)} operations, {calls} requests, {len(failures)} answered off the document")
    assert len(operations) > 60 and calls > len(operations) * 8
    assert not failures, f"{len(failures)} of {calls} requests got an undocumented answer:\n" + "\n".join(failures)


def test_answers_every_operation_of_a_kind_can_give_are_listed(client):
    """A path id can name nothing (404), a JSON body can fail to parse (400) or be too large (413)."""
    paths = client.get(SPEC_PATH).get_json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            listed = set(operation["responses"])
            if "{" in path:
                assert "404" in listed, f"{method.upper()} {path} does not list 404"
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                assert "400" in listed, f"{method.upper()} {path} does not list 400"
            if content:
                assert "413" in listed, f"{method.upper()} {path} does not list 413"
    reward = paths["/api/v1/rewards/{reward_id}"]["get"]["responses"]["404"]
    assert reward["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_an_unknown_id_and_a_broken_body_get_the_listed_answers(client, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    unknown = client.get("/api/v1/rewards/999", headers=headers)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "reward_not_found"
    broken = client.patch("/api/v1/rewards/999", data=b"{", headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.get_json()["code"] == "invalid_json"
    large = client.post("/api/v1/streets", data=b" " * (1024 * 1024 + 1),
                        headers={**headers, "Content-Type": "application/json"})
    assert large.status_code == 413 and large.get_json()["code"] == "request_entity_too_large"
