"""Messenger first: which of a patient's messages go by Messenger, and as what (`on_messenger`).

A message planned for the patient's phone (the SMS reminder or notice) goes by Messenger instead when all of
these hold, and on its planned channel (the next one) otherwise:
- the clinic has connected a Facebook Page (`set-messenger`);
- the patient prefers Messenger (`preferred_channel: "messenger"`) and linked the Page through the `m.me` link of
  their confirmation (`chalicelib.patients.messenger`), and has not opted out of it (a STOP on Messenger);
- and either the 24-hour standard messaging window is open (the patient wrote, or linked, in the last 24 hours):
  the message goes as a free-form text, in CareCue's own words for it in the patient's language; or the clinic
  has a utility template for the message's kind in the patient's language (`PUT /v1/clinic` `messenger`): it goes
  as that template, filled in (`chalicelib.render.whatsapp`, the same facts). No template: the planned channel.

As for WhatsApp, only appointment messages (confirmation, reminder, reschedule, cancellation) are routed. A
message the Send API refuses at once goes on its planned channel in the same request (the dispatcher's fallback).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.words import Channel
from chalicelib.fire.preparation import Ready
from chalicelib.fire.whatsapp_route import TEMPLATE_KINDS
from chalicelib.patients.messenger import messenger_state
from chalicelib.render.templates import Message
from chalicelib.render.whatsapp import filled, template_call


def on_messenger(ready: Ready, kind: str, now: datetime) -> Ready:
    """`ready` as it goes by Messenger, or unchanged when it goes on its own channel."""
    clinic, patient = ready.clinic, ready.patient
    template_kind = TEMPLATE_KINDS.get(kind)
    psid = patient.messenger_psid
    if (
        ready.channel is not Channel.SMS
        or template_kind is None
        or ready.template_facts is None
        or not clinic.messenger_page_id
        or patient.preferred_channel != Channel.MESSENGER.value
        or not psid
    ):
        return ready
    state = messenger_state(clinic.clinic_id, psid, now)
    if not state.may_send:
        return ready
    sms_words = ready.render
    if state.window_open:

        def free_form() -> Message:
            return Message(None, sms_words().body)

        return replace(ready, channel=Channel.MESSENGER, address=psid, render=free_form)
    template = clinic_policy(clinic).messenger.template(template_kind, patient.language)
    if template is None:
        return ready
    facts = ready.template_facts

    def as_template() -> Message:
        call = template_call(template.name, template.language_code, template.parameters, facts(), patient.language)
        return Message(None, filled(template.body, call.parameters), messenger_template=call)

    return replace(ready, channel=Channel.MESSENGER, address=psid, render=as_template)
