"""The local stack's access log line: route templates in place of tokens, no query strings, nothing of a path
that matches no route beyond its first segment."""

from __future__ import annotations

import pytest

from app import app
from infra.local.access_log import AccessLog

LOG = AccessLog(app.routes)
TOKEN = "gAAAAABk-fake_link_token.0123456789"


@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        (f"GET /p/{TOKEN} HTTP/1.1", "GET /p/{token} HTTP/1.1"),
        (f"POST /d/{TOKEN} HTTP/1.1", "POST /d/{token} HTTP/1.1"),
        (f"GET /board/{TOKEN}?refresh=1 HTTP/1.1", "GET /board/{token}?… HTTP/1.1"),
        # A form webhook's secret rides in its query string.
        (f"POST /webhooks/forms/c-123?token={TOKEN} HTTP/1.1", "POST /webhooks/forms/c-123?… HTTP/1.1"),
        # Ids are not secrets: they stay, so a log still says which appointment a call was about.
        ("PATCH /v1/appointments/a-42 HTTP/1.1", "PATCH /v1/appointments/a-42 HTTP/1.1"),
        ("GET /v1/appointments?status=booked HTTP/1.1", "GET /v1/appointments?… HTTP/1.1"),
        # No route: a mistyped link is still its token.
        (f"GET /p/{TOKEN}/extra HTTP/1.1", "GET /p/… HTTP/1.1"),
        (f"GET /{TOKEN} HTTP/1.1", "GET /… HTTP/1.1"),
        ("GET / HTTP/1.1", "GET /… HTTP/1.1"),
        (f"GET /p/{TOKEN} HTTP/1.1 junk", "<unreadable request line>"),
    ],
)
def test_the_logged_request_line_holds_no_token_and_no_query(sent: str, logged: str) -> None:
    assert LOG.request_line(sent) == logged
