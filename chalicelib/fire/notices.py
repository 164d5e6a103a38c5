"""Notices: messages an owner sends at once, with no stored reminder and no timer (today the waiting room's
wait-time and running-late texts, `chalicelib.waiting.service`), that still get what a reminder's send gets from
the dispatcher (`Dispatcher.send_notice`): a delivery record claimed once, receipts, the one fallback to the next
channel when the channel refuses it, later reports it failed (WhatsApp `failed`) or reports no delivery within the
clinic's delivery window.

- **The key.** The owner names each notice (`Notice.notice_id`) so that the same notice handled twice is the same
  delivery: `{owner_id}/{notice_id}` at `occurrence`, as a reminder's is `{owner_id}/{reminder_id}` at its
  occurrence. The claim holds only when there is no item yet (`deliveries.claim_notice`): never taken over after
  a lease, because nothing retries a notice, so a second handling sends nothing.
- **The facts.** A notice has no reminder to reload, so its delivery keeps what its owner needs to word it again
  (`Notice.facts`, JSON on the delivery's `notice`). When its channel fails it later, the owner (`NoticeMessages`,
  handed to the dispatcher by the composition root, since the owner sits above `fire`) says whether it is still
  worth sending (`again`: a stale notice is `NotSending`) and words it; the fallback is then claimed and sent as a
  reminder's is (`Dispatcher._send_fallback`), once.
- **The channels.** A notice is planned for the patient's phone (`Notice.planned`, SMS) and walks the patient's
  channel order through `chalicelib.fire.chat_route`, unless its owner names a first channel (`Notice.first`: a
  patient who checked in by WhatsApp gets the waiting texts there). Its next channel is the first of the order
  left once the failed channel is taken out, SMS last (a notice never goes by email). An SMS is never sent to a
  number that sent STOP, and never falls back (SMS reports nothing later).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from msgspec import Struct

from chalicelib.fire.preparation import NotSending, Ready


class Notice(Struct, frozen=True):
    clinic_id: str
    owner_id: str  # whose notice (the waiting room's: the appointment)
    notice_id: str  # which of the owner's notices (`wait.1`, `late.2`): with the occurrence, the delivery's key
    occurrence: datetime  # what the notice is about (the waiting room's: the appointment's start)
    kind: str  # the message kind the chat route knows (`wait_check_in`, `running_late`, ...)
    facts: Mapping[str, Any]  # what `NoticeMessages.again` needs to word it again, stored with the delivery
    planned: Ready  # the notice as planned for the patient's phone (SMS)
    first: Ready | None = None  # the channel the owner wants tried first, if any (else the patient's order)

    @property
    def key(self) -> str:
        return f"{self.owner_id}/{self.notice_id}"


class NoticeMessages(Protocol):
    def again(self, clinic_id: str, owner_id: str, occurrence: str, facts: Mapping[str, Any]) -> Ready | NotSending:
        """The notice (`occurrence`: the delivery's, ISO UTC) as planned for the patient's phone, worded for its
        fallback now; `NotSending` when it is no longer worth sending (stale)."""
        ...
