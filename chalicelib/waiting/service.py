"""The waiting room: after every visit move and every watch timer, re-estimate a provider's queue, text the
checked-in patients (check-in estimate, one update, "you're next") and the patients still at home (running
late), learn visit lengths at each finish, keep the running-late watch armed while the day goes on, and close
the provider's day at the clinic's closing time.

The day closes on the watch's last firing, at closing time (`chalicelib.waiting.watch` says why that is the
watch's bound): a visit still in progress is closed as `fulfilled` at the closing time, a patient still waiting
as `noshow` at the closing time, both marked `closed_by: "day_close"` so an admin can find and correct them; a
closed visit's length is not learned (it is the front desk's forgetting, not the provider's pace); nothing is
texted and nothing is re-armed. Closing twice changes nothing: the second finds no visit open.

Each text is claimed before it is sent, by a conditional write of what the patient was told on the
appointment: two refreshes at once (a finish and a watch timer) text once. A crash between the claim and the
send loses that one text rather than risking two; these texts are courtesy, not reminders. They are metered
like every message (`chalicelib.meter.sender`), so the clinic's spend cap holds them back too.

Delivery records. Each text is a notice of the dispatcher's (`chalicelib.fire.notices`): it has a delivery
record, claimed once, that receipts move (sent → delivered → read, or failed), and from which it falls back once
to the next channel when the channel later reports it failed (WhatsApp's `failed`) or reports no delivery within
the clinic's delivery window. Its key is the visit and the notice's number: `{appointment_id}/wait.{n}` for the
n-th wait text of the visit (1 the check-in text, then each update or "you're next" in turn: n is 1 + the
updates + 1 for "you're next", all from the appointment's claim) and `{appointment_id}/late.{n}` for the n-th
running-late text (1 or 2), each at the appointment's start (ISO UTC). The appointment's claim gives each number
once, so the same check-in or the same late notice handled twice is one delivery, and sends nothing more.

Staleness (`chalicelib.waiting.again`): no text falls back once its appointment moved (its start is the
delivery's occurrence). A wait text falls back only while the patient is still waiting
(`arrived`), no newer wait text has gone since (the appointment's promise is still the one it made), and, for an
estimate, the call time it promised is still ahead; its minutes are then counted again from now to that call
time (what the patient would have read had it come on time, said now). A running-late text falls back only while
the patient is still at home (`booked`), before their start, with no newer late text since and the provider
still running late (the lag re-measured; its minutes as they are now). Anything else is not sent: a patient
called in, or told something newer, is better served by nothing than by an old text.

Channels. Every waiting-room text (wait-time after any check-in, running late) walks the patient's channel order
as an appointment message does (`chalicelib.fire.chat_route`): on WhatsApp or Messenger when the clinic has
connected it and the patient opted in (or linked the Page) and not out, as a free-form text inside the patient's
24-hour window, else as the clinic's template for the kind (`wait-time`, `running-late`) in the patient's
language, filled with the clinic, the appointment's day, time and place, the clinic's phone, `minutes` (the
estimate, or how late the provider runs; "you're next" says 5, the least an estimate says) and, running late,
`provider`; otherwise by SMS. A patient who checked in by a HERE on WhatsApp or Messenger (`checked_in_by`) gets
their wait texts on that channel first, as a free-form text (they just wrote there: its window is open). A text a
chat channel refuses, reports failed later or does not report delivered in the clinic's window goes once on the
next channel of the order (the failed channel taken out), SMS last (below). No text
goes by SMS to a number that sent STOP (nor on a chat channel the patient stopped); waiting-room texts are never
sent by email.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import AlreadyClaimed, NotFound, StaleVersion, TimerError
from chalicelib.core.observability import count, logger
from chalicelib.core.records import Appointment, Clinic, Patient
from chalicelib.core.timezones import local_time
from chalicelib.core.words import Channel, ClinicStatus, WatchResult
from chalicelib.patients.contacts import is_opted_out
from chalicelib.render.templates import Message
from chalicelib.store import clinic_day
from chalicelib.visits.day import UNASSIGNED, local_day, provider_key
from chalicelib.visits.status import ARRIVED, BOOKED, DAY_CLOSE, DAY_CLOSE_TARGET, FULFILLED, IN_PROGRESS
from chalicelib.visits.texts import late_notice, wait_notice
from chalicelib.waiting.day import (
    ProviderQueue,
    build_queue,
    day_appointments,
    provider_day_appointments,
    provider_queues,
    provider_ratio,
)
from chalicelib.waiting.estimator import HISTORY_SIZE, visit_ratio
from chalicelib.waiting.notices import (
    DEFAULT_LATE_THRESHOLD,
    LATE_HORIZON,
    ROUND_TO_MINUTES,
    WaitTold,
    late_step,
    late_text,
    late_text_due,
    rounded_minutes,
    wait_text,
    wait_text_due,
)
from chalicelib.waiting.watch import WatchEvent, WatchTimers

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.fire.dispatch import Dispatcher
    from chalicelib.fire.preparation import Ready
    from chalicelib.render.whatsapp import TemplateFacts


class RefreshOutcome(Struct, frozen=True):
    wait_texts: int
    late_texts: int
    watching: bool


class WaitingService:
    def __init__(self, clock: Clock, watch: WatchTimers, dispatcher: Callable[[], Dispatcher]) -> None:
        self._clock = clock
        self._watch = watch
        # Sends each text as a notice (metered, held back at the spend cap), built when a text first goes.
        self._dispatcher = dispatcher

    def queues(
        self, clinic_id: str, day: date | None, provider: str | None
    ) -> tuple[Clinic, date, list[ProviderQueue]]:
        """The clinic's queues for a local day (today by default), one per provider or only `provider`'s."""
        now = self._clock.now()
        clinic = clinic_day.clinic(clinic_id)
        day = day or local_day(now, clinic.timezone)
        if provider is not None:
            appointments = provider_day_appointments(clinic_id, provider, day, clinic.timezone)
        else:
            appointments = day_appointments(clinic_id, day, clinic.timezone)
        return clinic, day, provider_queues(clinic_id, appointments, now)

    def record_visit(self, appointment: Appointment) -> None:
        """Adds a finished visit's length to its provider's history (the last HISTORY_SIZE visits)."""
        if appointment.started_at is None or appointment.finished_at is None:
            return
        ratio = visit_ratio(appointment.started_at, appointment.finished_at, int(appointment.duration_minutes))
        if ratio is None:
            logger.info("visit length ignored", extra={"appointment_id": appointment.appointment_id})
            return
        provider = provider_key(appointment)
        ratios = clinic_day.visit_ratios(appointment.clinic_id, provider)
        # Last writer wins: a provider finishes one visit at a time, and a lost ratio only slows learning.
        clinic_day.save_visit_ratios(
            appointment.clinic_id, provider, [*ratios, round(ratio, 4)][-HISTORY_SIZE:], self._clock.now()
        )

    def refresh(self, clinic_id: str, provider: str) -> RefreshOutcome:
        now = self._clock.now()
        clinic = clinic_day.clinic(clinic_id)
        day = local_day(now, clinic.timezone)
        appointments = provider_day_appointments(clinic_id, provider, day, clinic.timezone)
        queue = build_queue(provider, appointments, provider_ratio(clinic_id, provider), now)
        wait_texts = late_texts = 0
        if clinic.status == ClinicStatus.ACTIVE:
            wait_texts = self._text_waiting(clinic, queue)
            late_texts = self._text_at_home(clinic, queue, now)
        # The lag can grow only while someone is being seen or waiting; a later move re-arms the watch. Only
        # inside opening hours: its last slot is closing time, when the day closes (see watch_fired).
        watching = any(a.status in (ARRIVED, IN_PROGRESS) for a in appointments)
        if watching:
            hours = clinic_policy(clinic).opening_hours
            opens, closes = hours.opens_at(day, clinic.timezone), hours.closes_at(day, clinic.timezone)
            try:
                watching = self._watch.arm(clinic_id, provider, now, opens, closes)
            except TimerError as e:
                logger.error("wait watch not armed", extra={"clinic_id": clinic_id, "code": e.code})
        return RefreshOutcome(wait_texts, late_texts, watching)

    def watch_fired(self, event: WatchEvent) -> dict[str, Any]:
        try:
            clinic = clinic_day.clinic(event.clinic_id)
            # The day the timer was armed for, even when it is delivered late (a retry past midnight).
            day = local_day(event.scheduled_time, clinic.timezone)
            closes = clinic_policy(clinic).opening_hours.closes_at(day, clinic.timezone)
            if self._clock.now() >= closes:
                return self.close_day(clinic, event.provider, day, closes)
            outcome = self.refresh(event.clinic_id, event.provider)
        except NotFound:  # the clinic (or a patient of its day) is gone
            return {"result": "stale", "reason": "clinic_gone"}
        logger.info(
            "wait watch",
            extra={"clinic_id": event.clinic_id, "wait_texts": outcome.wait_texts, "late_texts": outcome.late_texts},
        )
        return {"result": WatchResult.WATCHED, "watching": outcome.watching}

    def close_day(self, clinic: Clinic, provider: str, day: date, closes: datetime) -> dict[str, Any]:
        """Closes what is still open of the provider's day at `closes` (see the module docstring); arms nothing."""
        closed = marked = 0
        for appointment in provider_day_appointments(clinic.clinic_id, provider, day, clinic.timezone):
            target = DAY_CLOSE_TARGET.get(appointment.status)
            if target is None:
                continue
            try:
                clinic_day.record_move(
                    appointment,
                    was=appointment.status,
                    status=target,
                    version=int(appointment.version) + 1,
                    now=self._clock.now(),
                    closed_by=DAY_CLOSE,
                    finished_at=closes if target == FULFILLED else None,
                    noshow_at=None if target == FULFILLED else closes,
                )
            except StaleVersion:
                continue  # the front desk moved it just now: theirs stands
            if target == FULFILLED:
                closed += 1
            else:
                marked += 1
        extra = {"clinic_id": clinic.clinic_id, "closed_visits": closed, "marked_waiting": marked}
        logger.info("day closed", extra=extra)
        return {"result": WatchResult.DAY_CLOSED, "closed_visits": closed, "marked_waiting": marked}

    def _text_waiting(self, clinic: Clinic, queue: ProviderQueue) -> int:
        sent = 0
        for appointment in queue.appointments:
            estimate = queue.estimates.get(appointment.appointment_id)
            if appointment.status != ARRIVED or estimate is None:
                continue
            told = WaitTold(
                appointment.wait_promised_at,
                int(appointment.wait_updates or 0),
                bool(appointment.wait_next_texted),
            )
            now = self._clock.now()
            decision = wait_text_due(told, now, estimate.called_at, estimate.ahead, queue.in_progress is not None)
            if decision is None:
                continue
            try:
                clinic_day.claim_wait_text(
                    appointment,
                    promised_at=now + timedelta(minutes=decision.minutes),
                    updates=told.updates + (1 if decision.text == "update" else 0),
                    next_texted=decision.next or told.next,
                )
            except AlreadyClaimed:
                continue  # another refresh texted this patient just now
            # "You're next" names no wait: a template that does says the least an estimate says.
            facts = waiting_facts(clinic, minutes=decision.minutes or ROUND_TO_MINUTES)
            updates = told.updates + (1 if decision.text == "update" else 0)
            number = 1 + updates + (1 if decision.text == "next" else 0)  # the visit's n-th wait text
            stored = {
                "text": decision.text.value,
                "next": decision.next,
                "promised_at": iso_utc(now + timedelta(minutes=decision.minutes)),
            }
            body = wait_text(clinic.name, decision)
            notice = wait_notice(number)
            sent += self._send(clinic, appointment, body, f"wait_{decision.text}", facts, notice, stored)
        return sent

    def _text_at_home(self, clinic: Clinic, queue: ProviderQueue, now: datetime) -> int:
        step = late_step(queue.lag, DEFAULT_LATE_THRESHOLD)
        if step == 0:
            return 0
        from chalicelib.clinics.policy import clinic_policy

        quiet = clinic_policy(clinic).quiet_hours  # the clinic's own, in the patient's zone; None: off
        sent = 0
        for appointment in queue.appointments:
            if appointment.status != BOOKED or not now < appointment.start <= now + LATE_HORIZON:
                continue
            last_step, texts = int(appointment.late_step or 0), int(appointment.late_texts or 0)
            quiet_now = quiet is not None and quiet.contains(now, appointment.timezone or clinic.timezone)
            if not late_text_due(step, last_step, texts, quiet_now):
                continue
            try:
                clinic_day.claim_late_text(appointment, step=step, texts=texts + 1)
            except AlreadyClaimed:
                continue  # another refresh texted this patient just now
            provider = None if queue.provider == UNASSIGNED else queue.provider
            facts = waiting_facts(clinic, minutes=rounded_minutes(queue.lag), provider=provider)
            body = late_text(clinic.name, provider, queue.lag)
            stored = {"texts": texts + 1}
            sent += self._send(clinic, appointment, body, "running_late", facts, late_notice(texts + 1), stored)
        return sent

    def _send(
        self,
        clinic: Clinic,
        appointment: Appointment,
        body: str,
        kind: str,
        facts: TemplateFacts,
        notice_id: str,
        stored: dict[str, Any],
    ) -> int:
        """Sends one waiting-room text on the patient's channel (the module docstring says which) as a notice of the
        dispatcher's, keyed `{appointment_id}/{notice_id}` at the appointment's start; 1 when sent."""
        from chalicelib.fire.notices import Notice

        patient = clinic_day.patient(appointment.clinic_id, appointment.patient_id)
        planned = planned_text(clinic, appointment, patient, body, facts)
        first: Ready | None = None
        here = _chat_of(clinic, appointment, patient) if kind.startswith("wait_") else None
        if here is not None:
            channel, address = here
            first = replace(planned, channel=channel, address=address, render=lambda: Message(None, body))
        notice = Notice(
            clinic.clinic_id, appointment.appointment_id, notice_id, appointment.start, kind, stored, planned, first
        )
        went = self._dispatcher().send_notice(notice)
        if went is None:
            return 0
        count("WaitingTextsSent", channel=went.value)
        return 1


def waiting_facts(clinic: Clinic, minutes: int, provider: str | None = None) -> TemplateFacts:
    """A waiting-room template's facts but the appointment's own (`planned_text` adds them)."""
    from chalicelib.render.whatsapp import TemplateFacts

    phone = clinic_policy(clinic).contact_phone
    return TemplateFacts(clinic.name, None, phone=phone, minutes=minutes, provider=provider)


def planned_text(clinic: Clinic, appointment: Appointment, patient: Patient, body: str, facts: TemplateFacts) -> Ready:
    """The text as planned for the patient's phone, for the channel walk (`chalicelib.fire.chat_route.route`)."""
    from chalicelib.fire.preparation import Ready

    zone = patient.timezone or appointment.timezone or clinic.timezone

    def words() -> Message:
        return Message(None, body)

    def template_facts() -> TemplateFacts:
        return replace(facts, local_start=local_time(appointment.start, zone), place=appointment.location)

    return Ready(clinic, patient, Channel.SMS, patient.phone or "", words, appointment.start, zone, template_facts)


def _chat_of(clinic: Clinic, appointment: Appointment, patient: Patient) -> tuple[Channel, str] | None:
    """The chat channel a patient checked in on, and their address there, while the clinic still has it and the
    patient has not opted out of it; None: SMS."""
    if appointment.checked_in_by == Channel.WHATSAPP.value and clinic.whatsapp_phone_number_id and patient.phone:
        channel, address = Channel.WHATSAPP, patient.phone
    elif appointment.checked_in_by == Channel.MESSENGER.value and clinic.messenger_page_id and patient.messenger_psid:
        channel, address = Channel.MESSENGER, patient.messenger_psid
    else:
        return None
    return None if is_opted_out(clinic.clinic_id, channel, address) else (channel, address)
