"""The OpenAPI document is valid, and no input it describes (or almost describes) gets a 5xx.

The property run generates requests from the document itself: inputs that fit it and
inputs that break it on purpose, for every operation, as an admin and as a resident,
against the app in-process. It runs on PostgreSQL when TEST_DATABASE_URL is set (where
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
from schemathesis.generation.modes import GenerationMode  # noqa: E402

SPEC_PATH = "/api/v1/openapi.json"
EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "3"))
RANDOM = os.environ.get("OPENAPI_FUZZ_RANDOM") == "1"
WECHAT = re.compile(r"https://api\.weixin\.qq\.com/.*")
OAUTH_REFUSED = {"errcode": 40029, "errmsg": "invalid code"}


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


def _run_operation(operation, mode, headers, failures) -> int:
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers=headers)
        calls.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {_case_text(case)} -> {response.text[:300]}")

    try:
        run()
    except Unsatisfiable:  # nothing to break in an operation without inputs
        pass
    return len(calls)


def test_no_generated_request_gets_a_server_error(app, session, client, admin_token, resident_token, db_url,
                                                  rsps):  # noqa: F811
    if PG_URL and not db_url.startswith("postgresql"):
        pytest.skip("runs once, on PostgreSQL when it is configured")
    resident = _seed(session)
    _stub_wechat(rsps)
    schema = schemathesis.openapi.from_wsgi(SPEC_PATH, app)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures, calls = [], 0
    for token in (admin_token, resident_token(resident)):
        headers = {"Authorization": f"Bearer {token}"}
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                calls += _run_operation(operation, mode, headers, failures)
    print(f"OpenAPI property run: {len(operations)} operations, {calls} requests, {len(failures)} with a 5xx")
    assert len(operations) > 60 and calls > len(operations) * 4
    assert not failures, f"{len(failures)} of {calls} requests got a 5xx:\n" + "\n".join(failures)
