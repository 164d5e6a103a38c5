"""A clinic's Messenger utility templates, the `"messenger"` part of `PUT /v1/clinic`: the same shape and rule as
WhatsApp's (`chalicelib.clinics.whatsapp_settings`), since Meta's utility message templates for Messenger are
named, per language, with numbered body placeholders just as WhatsApp's are:

    "messenger": {"templates": {"reminder": {"en": {
        "name": "carecue_reminder",
        "body": "{{1}}: your appointment is on {{2}} at {{3}}. Confirm: {{4}}",
        "parameters": ["clinic", "day", "time", "link"],
        "language_code": "en_US"}}}}

Outside the 24-hour standard messaging window Meta lets a Page write only with an approved utility template; a
kind and language with no template here goes on the next channel (the one it was planned for).
"""

from __future__ import annotations

from typing import Any

from chalicelib.clinics.whatsapp_settings import WhatsAppSettings, read_templates, whatsapp_json

NO_MESSENGER = WhatsAppSettings()


def messenger_from_json(value: Any) -> WhatsAppSettings:
    """Stored Messenger settings (the form `messenger_json` writes); anything else raises ValueError and the
    caller uses the defaults. Absent: no templates."""
    if value is None:
        return NO_MESSENGER
    if not isinstance(value, dict) or value.keys() - {"templates"}:
        raise ValueError("messenger")
    templates, problems = read_templates(value.get("templates", {}))
    if problems:
        raise ValueError("messenger.templates")
    return WhatsAppSettings(templates)


def messenger_json(settings: WhatsAppSettings) -> dict[str, Any]:
    return whatsapp_json(settings)
