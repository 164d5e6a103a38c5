"""WhatsApp first: which of a patient's messages go by WhatsApp, and as what (`on_whatsapp`).

A message planned for the patient's phone (the SMS reminder or notice) goes by WhatsApp instead when all of
these hold, and on SMS (the next channel) otherwise:
- the clinic has connected a WhatsApp sender (`set-whatsapp`);
- the patient prefers WhatsApp (`preferred_channel: "whatsapp"`), opted in to WhatsApp and has not opted out of
  it (a STOP on WhatsApp), all kept per phone number (`chalicelib.patients.whatsapp`);
- and either the 24-hour customer-service window is open (the patient wrote in the last 24 hours): the message
  goes as a free-form text, in CareCue's own words for it in the patient's language; or the clinic has an
  approved template for the message's kind in the patient's language: it goes as that template, filled in
  (`chalicelib.render.whatsapp`). No template for that kind and language: SMS.

Only appointment messages (confirmation, reminder, reschedule, cancellation) are routed here: the other kinds a
clinic may name a template for (dose, follow-up, caregiver, wait-time, running late) still go by SMS, because
their senders do not offer template facts yet.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.words import Channel, Kind
from chalicelib.fire.preparation import Ready
from chalicelib.patients.whatsapp import whatsapp_state
from chalicelib.render.templates import Message
from chalicelib.render.whatsapp import filled, template_call

# CareCue's message kinds under the names a clinic's templates are kept by.
TEMPLATE_KINDS = {
    Kind.CONFIRMATION.value: "confirmation",
    Kind.REMINDER.value: "reminder",
    Kind.RESCHEDULE_NOTICE.value: "reschedule",
    Kind.CANCELLATION_NOTICE.value: "cancellation",
}


def on_whatsapp(ready: Ready, kind: str, now: datetime) -> Ready:
    """`ready` as it goes by WhatsApp, or unchanged when it goes on its own channel."""
    clinic, patient = ready.clinic, ready.patient
    template_kind = TEMPLATE_KINDS.get(kind)
    if (
        ready.channel is not Channel.SMS
        or template_kind is None
        or ready.template_facts is None
        or not clinic.whatsapp_phone_number_id
        or patient.preferred_channel != Channel.WHATSAPP.value
    ):
        return ready
    state = whatsapp_state(clinic.clinic_id, ready.address, now)
    if not state.may_send:
        return ready
    sms_words = ready.render
    if state.window_open:

        def free_form() -> Message:
            return Message(None, sms_words().body)

        return replace(ready, channel=Channel.WHATSAPP, render=free_form)
    template = clinic_policy(clinic).whatsapp.template(template_kind, patient.language)
    if template is None:
        return ready
    facts = ready.template_facts

    def as_template() -> Message:
        call = template_call(template.name, template.language_code, template.parameters, facts(), patient.language)
        return Message(None, filled(template.body, call.parameters), whatsapp_template=call)

    return replace(ready, channel=Channel.WHATSAPP, render=as_template)
