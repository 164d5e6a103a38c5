"""The booking tools CareCue takes webhooks from, by the name in `/webhooks/{provider}/{clinic_id}`."""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from chalicelib.intake import acuity, calcom, calendly, form, square, typeform
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.events import BookingEvent, Ignored, WebhookRequest


class Adapter(Struct, frozen=True):
    verify: Callable[[WebhookRequest, ProviderContext], None]
    parse: Callable[[WebhookRequest, ProviderContext], BookingEvent | Ignored]


ADAPTERS: dict[str, Adapter] = {
    "calcom": Adapter(calcom.verify, calcom.parse),
    "calendly": Adapter(calendly.verify, calendly.parse),
    "square": Adapter(square.verify, square.parse),
    "acuity": Adapter(acuity.verify, acuity.parse),
    "typeform": Adapter(typeform.verify, typeform.parse),
    "form": Adapter(form.verify, form.parse),
}
