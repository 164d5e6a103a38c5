"""A patient's channel order (pure): the clinic's default order of channels (`PUT /v1/clinic` `channel_order`),
with the patient's preferred channel (`preferred_channel`) moved to the front.

A message goes on the first channel of that order the patient can receive it on (who decides that at fire time:
`chalicelib.fire.channel_order`). WhatsApp and Messenger reach the patient's phone, so a reminder planned for the
phone (an `.sms` reminder) goes on the first of WhatsApp, Messenger and SMS in the order that can carry it, and
one planned for email goes by email (`slot_of`).

The default order is SMS, WhatsApp, Messenger, email: what CareCue did before there was an order (a patient who
prefers WhatsApp or Messenger gets it there, everyone else by SMS), so a clinic that sets nothing sees no change.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.core.words import Channel

DEFAULT_ORDER: tuple[Channel, ...] = (Channel.SMS, Channel.WHATSAPP, Channel.MESSENGER, Channel.EMAIL)
CHAT_CHANNELS = frozenset({Channel.WHATSAPP, Channel.MESSENGER})


def patient_order(clinic_order: Sequence[Channel], preferred: Channel | None) -> tuple[Channel, ...]:
    """The clinic's order with the patient's preferred channel first; a channel the clinic's order leaves out is
    never used, even when preferred (the clinic has not set it up, or does not want it)."""
    order = tuple(clinic_order)
    if preferred is None or preferred not in order:
        return order
    return (preferred, *(channel for channel in order if channel is not preferred))


def slot_of(channel: Channel) -> Channel:
    """The planned channel a message on `channel` rides on: the phone's (SMS) for the chat channels."""
    return Channel.SMS if channel in CHAT_CHANNELS else channel
