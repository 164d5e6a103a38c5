"""The clinic's inbox (`docs/inbox.md`): a patient's free-text reply, on SMS, WhatsApp or Messenger, becomes a
message in their thread; the staff list the threads, read one and answer it on the patient's channel.

- **Stored first.** A patient's message is written (with its thread's row, in one transaction) before anything
  else happens; the notice email and the automatic answer come after, and a failure of either never takes the
  message back. If the write itself fails, the caller gives the inbound message's claim back so the channel's
  retry stores it (`chalicelib.replies.inbound`).
- **Read when opened or answered.** A thread's unread count is the patient's messages since the staff last
  opened it (`GET /v1/conversations/{patient_id}`) or answered it; both set it to 0.
- **The notice email**, to the clinic's `inbox.notice_email` (else its `reply_to`): at most one per thread per
  hour, claimed on the thread's row so two messages at once send one, and with no word of the patient's: "a
  patient wrote, open the inbox" and the patient's id. It is metered like every message and never held back
  by the spend cap (the clinic must hear that a patient is waiting). If it fails, the claim is given back (the
  next message tries again) and the failure is logged with the clinic's id and the error's code only.
- **The automatic answer**, at most once a day per thread, claimed the same way; its words are the patient's
  language's (`chalicelib.replies.answers.inbox_answer`), sent by the reply path like every answer.
- **The staff's answer** goes by `chalicelib.inbox.channel.answer_channel`, through the metered sender; at the
  spend cap it is refused (409 `spend_cap_reached`), nothing sent, nothing stored. With an `external_id` it is
  sent once: the id is claimed before the send (given back if nothing went), and a repeat answers the answer
  stored (200), or 409 `in_progress` while the first is still being sent.

Message text is health data: it is stored (encrypted at rest like every table) and answered to the clinic's
API key, never logged, never in a metric, never in the notice email.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock
from chalicelib.core.cursors import read_cursor, write_cursor
from chalicelib.core.errors import ChannelError, Conflict, NotFound, UpstreamUnavailable
from chalicelib.core.observability import count, logger
from chalicelib.core.records import Clinic, ConversationMessage, ListedConversation
from chalicelib.core.words import Channel
from chalicelib.render.segments import sms_segments
from chalicelib.render.templates import Message
from chalicelib.store import clinics as clinic_store
from chalicelib.store import conversations as store
from chalicelib.store import patients as patient_store

if TYPE_CHECKING:
    from chalicelib.inbox.channel import Route
    from chalicelib.inbox.views import AnswerView, ConversationList, ConversationSummary, MessageView, ThreadView
    from chalicelib.meter.sender import MeteredSender

NOTICE_EVERY = timedelta(hours=1)
AUTO_ANSWER_EVERY = timedelta(days=1)
_CLAIM_KEPT = timedelta(days=30)  # how long a repeat of an answer's `external_id` is recognised
NOTICE_SUBJECT = "A patient wrote: open the CareCue inbox"


class Inbox:
    def __init__(self, clock: Clock, sender: MeteredSender, public_url: str | None = None) -> None:
        self._clock = clock
        self._sender = sender  # SMS, WhatsApp, Messenger and email: every message metered
        self._public_url = public_url

    # --- a patient wrote ---------------------------------------------------------------------------------

    def receive(
        self, clinic: Clinic, patient_id: str, channel: Channel, address: str, text: str, message_id: str
    ) -> bool:
        """Stores the patient's message in their thread, sends the hourly notice; True when the day's automatic
        answer is due (claimed: the caller sends it). A failure to store raises; nothing after it does."""
        now = self._clock.now()
        store.record_inbound(clinic.clinic_id, patient_id, channel.value, address, text, message_id, now)
        count("InboxMessages", channel=channel.value)
        self._notify(clinic, patient_id, now)
        try:
            return store.claim_auto_answer(clinic.clinic_id, patient_id, now, AUTO_ANSWER_EVERY)
        except Exception as e:  # the message is stored; a lost automatic answer is only a courtesy lost
            logger.warning("inbox auto-answer not claimed", extra={"clinic_id": clinic.clinic_id, "error": _code(e)})
            return False

    def _notify(self, clinic: Clinic, patient_id: str, now: datetime) -> None:
        policy = clinic_policy(clinic)
        address = policy.inbox.notice_email or policy.reply_to
        if address is None:
            return  # no address to tell: the thread is in the inbox all the same
        try:
            if not store.claim_notice(clinic.clinic_id, patient_id, now, NOTICE_EVERY):
                return
        except Exception as e:  # the message is stored: a notice not claimed must not lose it
            logger.warning("inbox notice not claimed", extra={"clinic_id": clinic.clinic_id, "error": _code(e)})
            return
        try:
            # Never held back at the spend cap: the clinic must learn that a patient is waiting (counted all the same).
            self._sender.send(
                clinic,
                Channel.EMAIL,
                address,
                notice_email(clinic, patient_id, self._public_url),
                required_by_carrier=True,
            )
        except Exception as e:  # SES refused or is down: the message stays, the next one tries the notice again
            logger.warning("inbox notice not sent", extra={"clinic_id": clinic.clinic_id, "error": _code(e)})
            count("InboxNoticeFailed", channel=Channel.EMAIL.value)
            try:
                store.release_notice(clinic.clinic_id, patient_id, now)
            except Exception as again:
                logger.warning("inbox notice claim kept", extra={"clinic_id": clinic.clinic_id, "error": _code(again)})

    # --- the staff -----------------------------------------------------------------------------------------

    def threads(self, clinic_id: str, cursor: str | None, limit: int) -> ConversationList:
        """A page of the clinic's threads, the latest message first."""
        found, last = store.threads_page(clinic_id, read_cursor(cursor, _THREAD_KEYS, ("clinic_id", clinic_id)), limit)
        return {"conversations": [_summary(row) for row in found], "next": write_cursor(last)}

    def thread(self, clinic_id: str, patient_id: str, cursor: str | None, limit: int) -> ThreadView:
        """A page of one thread, newest first; opening it marks it read. 404 for no such patient at the clinic."""
        if patient_store.find_patient(clinic_id, patient_id, consistent=True) is None:
            raise NotFound("patient")
        after = read_cursor(cursor, _MESSAGE_KEYS, ("thread", store.thread_key(clinic_id, patient_id)))
        messages, last = store.messages_page(clinic_id, patient_id, after, limit)
        conversation = store.find(clinic_id, patient_id)
        if conversation is not None and conversation.unread:
            store.mark_read(clinic_id, patient_id, self._clock.now())
        return {
            "patient_id": patient_id,
            "unread": 0,
            "channel": conversation.channel if conversation is not None else None,
            "messages": [_message_view(m) for m in messages],
            "next": write_cursor(last),
        }

    def answer(self, clinic_id: str, patient_id: str, raw_body: bytes) -> tuple[AnswerView, bool]:
        """Sends the staff's answer on the patient's channel (`answer_channel`) and stores it in the thread; True
        when it was sent now, False for a repeat of an `external_id` already sent (nothing sent again)."""
        from chalicelib.core.validation import Context, read_json
        from chalicelib.inbox.bodies import StaffAnswerBody
        from chalicelib.inbox.channel import answer_channel

        body = read_json(StaffAnswerBody, raw_body, Context())
        patient = patient_store.find_patient(clinic_id, patient_id, consistent=True)
        if patient is None:
            raise NotFound("patient")
        external_id = body.external_id
        if external_id is not None:
            repeat = store.answer_sent(clinic_id, patient_id, external_id)
            if repeat is not None:
                return {"patient_id": patient_id, "message": _message_view(repeat)}, False
        conversation = store.find(clinic_id, patient_id)
        if conversation is None:
            raise Conflict("the patient has not written: the inbox answers a patient's message", code="no_conversation")
        clinic = clinic_store.get_clinic(clinic_id)
        now = self._clock.now()
        route = answer_channel(clinic, conversation, patient, now)
        if external_id is not None and not store.claim_answer(clinic_id, patient_id, external_id, now, _CLAIM_KEPT):
            repeat = store.answer_sent(clinic_id, patient_id, external_id)
            if repeat is not None:
                return {"patient_id": patient_id, "message": _message_view(repeat)}, False
            raise Conflict("an answer with this external_id is being sent: read the thread", code="in_progress")
        try:
            stored = self._send(clinic, patient_id, route, body.text, now)
        except Exception:
            if external_id is not None:
                store.release_answer(clinic_id, patient_id, external_id)  # nothing went: a retry may send it
            raise
        if external_id is not None:
            store.mark_answer_sent(clinic_id, patient_id, external_id, stored.entry)
        return {"patient_id": patient_id, "message": _message_view(stored)}, True

    def _send(self, clinic: Clinic, patient_id: str, route: Route, text: str, now: datetime) -> ConversationMessage:
        from chalicelib.meter.sender import text_as_sent

        clinic_id = clinic.clinic_id
        message = Message(None, text)
        try:
            sent = self._sender.send(clinic, route.channel, route.to, message)
        except ChannelError as e:
            logger.warning("inbox answer not sent", extra={"clinic_id": clinic_id, "code": e.code})
            if e.permanent:
                raise Conflict(
                    f"the {route.channel.value} channel refused the answer ({e.code})", code="refused"
                ) from e
            raise UpstreamUnavailable(f"the {route.channel.value} channel is unavailable ({e.code}): retry") from e
        if sent is None:
            raise Conflict("the clinic's month is at its spend cap: nothing was sent", code="spend_cap_reached")
        as_sent = text_as_sent(route.channel, message)
        segments = sms_segments(as_sent) if route.channel is Channel.SMS else None
        store.record_outbound(clinic_id, patient_id, route.channel.value, as_sent, sent.message_id, segments, now)
        count("InboxAnswers", channel=route.channel.value)
        return ConversationMessage(
            thread=store.thread_key(clinic_id, patient_id),
            entry=f"{now.isoformat()}#{sent.message_id}",
            direction="out",
            channel=route.channel.value,
            text=as_sent,
            at=now,
            sender="staff",
            message_id=sent.message_id,
            sms_segments=segments,
        )


def notice_email(clinic: Clinic, patient_id: str, public_url: str | None) -> Message:
    """The clinic's notice: that a patient wrote, and where to read it; never the patient's words or contact."""
    where = (
        f"{public_url.rstrip('/')}/v1/conversations/{patient_id}" if public_url else f"/v1/conversations/{patient_id}"
    )
    body = (
        f"A patient of {clinic.name} wrote a message. Open the inbox to read and answer it: "
        f"GET {where} (patient id {patient_id}).\n\n"
        "This notice is sent at most once an hour per conversation. It holds no message text: messages are "
        "health data and are only in the inbox."
    )
    return Message(NOTICE_SUBJECT, body)


def _summary(row: ListedConversation) -> ConversationSummary:
    return {
        "patient_id": row.patient_id,
        "unread": int(row.unread),
        "last_message_at": _instant(row.last_at),
        "last_direction": row.last_direction,
        "channel": row.channel,
    }


def _message_view(message: ConversationMessage) -> MessageView:
    return {
        "id": message.entry,
        "direction": message.direction,
        "sender": message.sender,
        "channel": message.channel,
        "text": message.text,
        "at": _instant(message.at),
        "sms_segments": int(message.sms_segments) if message.sms_segments is not None else None,
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _code(error: Exception) -> str:
    """What a log line may say of a failure: its code or class, never its message (which may quote data)."""
    return str(getattr(error, "code", None) or type(error).__name__)


_THREAD_KEYS = {"clinic_id", "patient_id", "recent"}
_MESSAGE_KEYS = {"thread", "entry"}
