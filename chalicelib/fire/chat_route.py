"""The chat channels at fire time: which of a patient's phone messages go by WhatsApp or Messenger, and as what
(`route`). One route for both: they differ only in the patient's address (the phone, or the linked PSID), the
clinic's sender (`set-whatsapp`'s phone number, `set-messenger`'s Page) and where their templates are kept.

A message planned for the patient's phone (the `.sms` reminder or notice) walks the patient's channel order
(`chalicelib.fire.channel_order`: the clinic's `channel_order` with the patient's preferred channel first) and goes
on the first of WhatsApp, Messenger and SMS there that can carry it. A chat channel can when
- the clinic has connected it, and the patient opted in (WhatsApp) or linked the Page (Messenger) and has not
  opted out of it (a STOP on that channel);
- and either the 24-hour window is open (the patient wrote in the last 24 hours): the message goes as a free-form
  text, in CareCue's own words for it in the patient's language; or the clinic has an approved template for the
  message's kind in the patient's language: it goes as that template, filled in (`chalicelib.render.whatsapp`).

Otherwise the walk goes on (to the next chat channel or to SMS). A message planned for email goes by email.

Which messages are routed, under the template kind a clinic names (`TEMPLATE_KINDS`):
- appointment messages: confirmation, reminder, reschedule, cancellation;
- a regimen's (`chalicelib.regimens.doses`): the dose and a snoozed dose's re-reminder (`dose`), the follow-up
  (`follow-up`), the caregiver's alert (`caregiver`); the refill reminder has no template kind, so it goes on a
  chat channel only inside the window (`WINDOW_ONLY_KINDS`);
- the waiting room's (`chalicelib.waiting.service`, sent as the dispatcher's notices: `chalicelib.fire.notices`):
  the three wait texts (`wait-time`) and the running-late text (`running-late`).

A message to someone else than the patient (`Ready.for_patient` false: a regimen's caregiver) walks the clinic's
own channel order (`order_of`: the patient's preferred channel is the patient's choice, not the caregiver's), may
go by WhatsApp only to its own address when that number opted in itself (a caregiver's number opts in as anyone's
does: by writing to the clinic's WhatsApp number; the patient's opt-in is the patient's), and never by Messenger
(the linked PSID is the patient's).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from msgspec.structs import replace

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.words import Channel, Kind
from chalicelib.fire.channel_order import channel_order
from chalicelib.fire.preparation import Ready
from chalicelib.plan.channel_order import patient_order
from chalicelib.render.templates import Message
from chalicelib.render.whatsapp import filled, template_call

if TYPE_CHECKING:
    from chalicelib.patients.messenger import MessengerState
    from chalicelib.patients.whatsapp import WhatsAppState

# CareCue's message kinds under the names a clinic's templates are kept by.
TEMPLATE_KINDS = {
    Kind.CONFIRMATION.value: "confirmation",
    Kind.REMINDER.value: "reminder",
    Kind.RESCHEDULE_NOTICE.value: "reschedule",
    Kind.CANCELLATION_NOTICE.value: "cancellation",
    # A regimen's messages (`chalicelib.regimens.messages.DoseKind`, named here by value: regimens sits above fire).
    # A snooze's re-reminder is the dose again.
    "dose": "dose",
    "dose_snooze": "dose",
    "dose_follow_up": "follow-up",
    "caregiver_alert": "caregiver",
    # The waiting room's texts (`chalicelib.waiting.service`): the three wait texts share one template kind.
    "wait_check_in": "wait-time",
    "wait_update": "wait-time",
    "wait_next": "wait-time",
    "running_late": "running-late",
}
# Kinds that may go on a chat channel inside the 24-hour window though no template kind names them (outside it
# they go by SMS): the refill reminder.
WINDOW_ONLY_KINDS = frozenset({"refill"})


ALL_CHATS = frozenset({Channel.WHATSAPP, Channel.MESSENGER})


def route(ready: Ready, kind: str, now: datetime, chats: frozenset[Channel] = ALL_CHATS) -> Ready:
    """`ready` as it goes on the first channel of the patient's order that carries it; unchanged for SMS (and
    for a message planned for email). `chats`: the chat channels the caller can send on."""
    if ready.channel is not Channel.SMS:
        return ready
    for channel in order_of(ready):
        if channel is Channel.SMS:
            return ready
        if channel in chats:
            routed = on_chat(channel, ready, kind, now)
            if routed is not None:
                return routed
    return ready


def order_of(ready: Ready) -> tuple[Channel, ...]:
    """The channel order `ready` walks: the patient's (`chalicelib.fire.channel_order`); for a message to someone
    else (a caregiver) the clinic's own, since the patient's preferred channel is the patient's choice."""
    if ready.for_patient:
        return channel_order(ready.clinic, ready.patient)
    return patient_order(clinic_policy(ready.clinic).channel_order, None)


def on_chat(channel: Channel, ready: Ready, kind: str, now: datetime) -> Ready | None:
    """`ready` as it goes on `channel` (WhatsApp or Messenger), or None when that channel cannot carry it."""
    clinic, patient = ready.clinic, ready.patient
    template_kind = TEMPLATE_KINDS.get(kind)
    if ready.channel is not Channel.SMS or (template_kind is None and kind not in WINDOW_ONLY_KINDS):
        return None
    if channel is Channel.MESSENGER and not ready.for_patient:
        return None  # the linked PSID is the patient's: a caregiver has none
    policy = clinic_policy(clinic)
    state: WhatsAppState | MessengerState | None
    if channel is Channel.WHATSAPP:
        from chalicelib.patients.whatsapp import whatsapp_state

        address: str | None = ready.address if clinic.whatsapp_phone_number_id else None
        state = whatsapp_state(clinic.clinic_id, address, now) if address else None
        templates = policy.whatsapp
    else:
        from chalicelib.patients.messenger import messenger_state

        address = patient.messenger_psid if clinic.messenger_page_id else None
        state = messenger_state(clinic.clinic_id, address, now) if address else None
        templates = policy.messenger
    if address is None or state is None or not state.may_send:
        return None
    sms_words = ready.render
    if state.window_open:

        def free_form() -> Message:
            return Message(None, sms_words().body)

        return replace(ready, channel=channel, address=address, render=free_form)
    facts = ready.template_facts
    template = templates.template(template_kind, patient.language) if template_kind is not None else None
    if template is None or facts is None:
        return None

    def as_template() -> Message:
        call = template_call(template.name, template.language_code, template.parameters, facts(), patient.language)
        words = filled(template.body, call.parameters)
        if channel is Channel.WHATSAPP:
            return Message(None, words, whatsapp_template=call)
        return Message(None, words, messenger_template=call)

    return replace(ready, channel=channel, address=address, render=as_template)
