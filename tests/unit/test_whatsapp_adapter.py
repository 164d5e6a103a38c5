"""The exact request CareCue sends to AWS End User Messaging Social (botocore's Stubber holds the client to it:
any other parameter, or any other message JSON, fails the test), and how AWS's refusals come back."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.core.errors import ChannelError
from chalicelib.send.whatsapp import WhatsAppChannel, WhatsAppTemplate

PHONE_NUMBER_ID = "phone-number-id-0123456789abcdef0123456789abcdef"


def client() -> Any:
    return boto3.client(
        "socialmessaging", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def test_a_template_message_is_the_cloud_api_template_object_with_its_body_parameters_in_order() -> None:
    social = client()
    expected = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "14155550101",
        "type": "template",
        "template": {
            "name": "carecue_confirmation",
            "language": {"policy": "deterministic", "code": "es"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Clínica Ejemplo"},
                        {"type": "text", "text": "mar 1 dic"},
                        {"type": "text", "text": "9:00"},
                    ],
                }
            ],
        },
        "biz_opaque_callback_data": "apt_1/confirmation.sms|2026-12-01T09:00:00Z",
    }
    with Stubber(social) as stub:
        stub.add_response(
            "send_whatsapp_message",
            {"messageId": "msg-0001"},
            {
                "originationPhoneNumberId": PHONE_NUMBER_ID,
                "message": json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode(),
                "metaApiVersion": "v20.0",
            },
        )
        message_id = WhatsAppChannel(lambda: social).send_template(
            PHONE_NUMBER_ID,
            "+14155550101",
            WhatsAppTemplate("carecue_confirmation", "es", ("Clínica Ejemplo", "mar 1 dic", "9:00")),
            callback="apt_1/confirmation.sms|2026-12-01T09:00:00Z",
        )
        stub.assert_no_pending_responses()
    assert message_id == "msg-0001"


def test_a_free_form_text_is_the_cloud_api_text_object() -> None:
    social = client()
    expected = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "14155550101",
        "type": "text",
        "text": {"preview_url": False, "body": "Example Clinic: see you Tue 1 Dec at 9:00 AM."},
    }
    with Stubber(social) as stub:
        stub.add_response(
            "send_whatsapp_message",
            {"messageId": "msg-0002"},
            {
                "originationPhoneNumberId": PHONE_NUMBER_ID,
                "message": json.dumps(expected, separators=(",", ":")).encode(),
                "metaApiVersion": "v20.0",
            },
        )
        sent = WhatsAppChannel(lambda: social).send_text(
            PHONE_NUMBER_ID, "+14155550101", "Example Clinic: see you Tue 1 Dec at 9:00 AM."
        )
    assert sent == "msg-0002"


@pytest.mark.parametrize(
    ("code", "permanent"),
    [("ValidationException", True), ("ResourceNotFoundException", True), ("ThrottledRequestException", False)],
)
def test_a_refusal_is_a_channel_error_permanent_only_when_sending_again_cannot_help(code: str, permanent: bool) -> None:
    social = client()
    with Stubber(social) as stub:
        stub.add_client_error("send_whatsapp_message", service_error_code=code, http_status_code=400)
        with pytest.raises(ChannelError) as refused:
            WhatsAppChannel(lambda: social).send_text(PHONE_NUMBER_ID, "+14155550101", "hello")
    assert (refused.value.code, refused.value.permanent) == (code, permanent)
