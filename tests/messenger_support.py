"""What the in-process tests share for Messenger: a clinic connected with `set-messenger` (obviously fake Page id,
token and app secret) and its utility templates, and Meta's webhook events signed as Meta signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.admin.cli import main
from chalicelib.settings import MESSENGER_APP_SECRET_ENV as APP_SECRET_ENV
from chalicelib.settings import MESSENGER_PAGE_TOKEN_ENV as PAGE_TOKEN_ENV
from tests.conftest import ClinicKeys

PAGE_ID = "000000000000001"
PSID = "0000000000000101"
PAGE_TOKEN = "test-page-token-not-a-real-one"
APP_SECRET = "test-app-secret-not-a-real-one"
TEMPLATES: dict[str, Any] = {
    "reminder": {
        "en": {
            "name": "carecue_reminder",
            "body": "{{1}}: your appointment is on {{2}} at {{3}}. Confirm: {{4}}",
            "parameters": ["clinic", "day", "time", "link"],
            "language_code": "en_US",
        }
    }
}
_REF = re.compile(r"https://m\.me/(\d+)\?ref=([A-Za-z0-9_-]+)")


def connect_messenger(
    api: Client,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    templates: dict[str, Any] | None = None,
) -> str:
    """What a clinic does: `set-messenger` (the secrets in the environment), then its templates in PUT /v1/clinic.
    Returns the verify token the command printed."""
    monkeypatch.setenv(PAGE_TOKEN_ENV, PAGE_TOKEN)
    monkeypatch.setenv(APP_SECRET_ENV, APP_SECRET)
    capsys.readouterr()  # what was printed before (metrics lines) is not the command's answer
    code = main(["--stage", "test", "set-messenger", "--clinic", clinic.clinic_id, "--page-id", PAGE_ID])
    out = capsys.readouterr().out
    assert code == 0, out
    printed = next(json.loads(line) for line in out.splitlines() if '"messenger_page_id"' in line)
    body = json.dumps({"messenger": {"templates": TEMPLATES if templates is None else templates}})
    response = api.http.put("/v1/clinic", headers=clinic.headers, body=body)
    assert response.status_code == 200, response.json_body
    return str(printed["verify_token"])


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def page_event(*messaging: dict[str, Any], page: str = PAGE_ID) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": page, "time": 0, "messaging": list(messaging)}]}).encode()


def referral(ref: str, at: datetime, psid: str = PSID) -> dict[str, Any]:
    """`messaging_referrals`: the patient opened the m.me link (an existing conversation)."""
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(at.timestamp() * 1000),
        "referral": {"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"},
    }


def text(body: str, mid: str, at: datetime, psid: str = PSID) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(at.timestamp() * 1000),
        "message": {"mid": mid, "text": body},
    }


def post_event(api: Client, body: bytes, signed: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    headers["X-Hub-Signature-256"] = signature(body) if signed is None else signed
    return api.http.post("/webhooks/messenger", headers=headers, body=body)


def m_me_ref(message_body: str) -> str:
    """The ref of the m.me link a confirmation offers."""
    found = _REF.search(message_body)
    assert found is not None, "no m.me link in the message"
    assert found.group(1) == PAGE_ID
    return found.group(2)
