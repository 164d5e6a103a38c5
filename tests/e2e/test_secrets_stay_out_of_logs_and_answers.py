"""No answer quotes what the request carried, and the stack's log holds no key, secret or token: the access log
writes route templates and `?…` instead (infra/local/access_log.py). The stack fixture also scans the whole
run's log, at its end, for every key, secret and token the run issued (tests/e2e/conftest.py)."""

from __future__ import annotations

import json

from tests.e2e.conftest import Clinic, LocalStack


def test_an_unknown_route_never_echoes_the_authorization_header(stack: LocalStack, clinic: Clinic) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        for key in (clinic.api_key, "cc_not-the-clinics-key-é"):  # non-ASCII once made chalice.local drop the line
            status, content_type, text = stack.api().raw(
                method, "/v1/no-such-thing", None, {"Authorization": f"Bearer {key}"}
            )

            assert status == 404, (method, text)
            assert json.loads(text)["error"]["code"] == "no_such_route"
            assert key not in text and "Bearer" not in text and "Authorization=" not in text


def test_the_access_log_writes_route_templates_for_tokens_and_no_query_string(
    stack: LocalStack, clinic: Clinic
) -> None:
    made = stack.admin("set-webhook-secret", "--clinic", clinic.clinic_id, "--provider", "form")
    assert made.returncode == 0, made.stderr
    secret = json.loads(made.stdout)["secret"]
    link_token = "A" * 20 + "fake-link-token-0123456789"

    stack.api().raw("POST", f"/webhooks/form/{clinic.clinic_id}?token={secret}", {"id": "sub-1"})
    stack.api().raw("GET", f"/p/{link_token}")
    stack.api().raw("GET", f"/board/{link_token}")

    log = stack.log_once_printed('"GET /board/{token} HTTP/1.1" 404')
    assert f'"POST /webhooks/form/{clinic.clinic_id}?… HTTP/1.1"' in log
    assert '"GET /p/{token} HTTP/1.1" 404' in log
    assert secret not in log and link_token not in log
