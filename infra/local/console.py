"""The local console (`GET /_local/`): what the local stack is about to send, what it sent, the clinics' usage and
the clock, as one page (HTML for a person, on a phone too; JSON with `Accept: application/json`).

The coming sends are the Scheduler emulator's pending timers, each read back through the one timer envelope
(`chalicelib.arm.envelope`). A reminder's text is worded by the app's own code for that reminder (`prepare` then
`Ready.render` of its owner's messages, as the fire function does), with what is stored now: the text as it would
go if it went now (routed by WhatsApp as the dispatcher would), nothing claimed or sent; the spend cap, quiet hours
and frequency caps are left to the firing. A dose timer is worded the same way: the checks `dose_due` makes (the
regimen, its version and status, the instruction, a planned dose), then the dose reminder it would create (held
in memory, never stored) through `RegimenMessages.prepare` and `render`; its taken link is signed afresh when it
goes. A running-late watch shows the texts its firing would send (running late to patients at home, wait updates
to those checked in): the provider's queue as stored now, estimated at the watch's time (at the time it is
armed for, not the console's "now": the lag it texts about is the lag at its firing), through the waiting
room's own decisions and words (`chalicelib.waiting.notices`), nothing claimed; a watch at closing time says it
closes the day. The page shows the next `COMING_SHOWN` sends and the newest `SENT_SHOWN` messages, with their
totals. Recipients are masked (`+1 415 ••• ••01`,
`p••@example.org`): the page is for seeing what goes where, and a screen is easily seen over a shoulder. Everything
shown is HTML-escaped; the only markup made from data is a link (`<a>`) around an http(s) address in a message
body. No JavaScript: the clock's controls are plain forms.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.core.clock import iso_utc

if TYPE_CHECKING:
    from chalicelib.arm.envelope import DoseTimerEvent, WatchTimerEvent
    from infra.local.stack import LocalStack

_URL = re.compile(r"https?://[^\s<>\"']+")
_DOT = "\u2022"
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
# Each coming send is worded with a few reads of its own: a month of a busy clinic's timers would make the page
# take seconds, so it shows the next ones and says how many more there are. The outbox likewise, newest first.
COMING_SHOWN = 50
SENT_SHOWN = 200


def mask_phone(phone: str) -> str:
    """`+14155550101` → `+1 415 ••• ••01`; another country's number keeps its first two and last two digits."""
    digits = phone.lstrip("+")
    if phone.startswith("+1") and len(digits) == 11:
        return f"+1 {digits[1:4]} {_DOT * 3} {_DOT * 2}{digits[-2:]}"
    if len(digits) < 6:
        return _DOT * len(digits)
    return f"+{digits[:2]} {_DOT * 3} {_DOT * 2}{digits[-2:]}"


def mask_email(address: str) -> str:
    """`pat@example.org` → `p••@example.org`: the domain says which provider, the first letter whose it might be."""
    local, at, domain = address.partition("@")
    if not at:
        return _DOT * 3
    return f"{local[:1]}{_DOT * 2}@{domain}"


def mask(address: str) -> str:
    return ", ".join(mask_email(a) if "@" in a else mask_phone(a) for a in address.split(", "))


def console_data(stack: LocalStack) -> dict[str, Any]:
    from chalicelib.meter.pricing import billing_month
    from chalicelib.store.models import Clinic, Patient, Usage

    now = stack.clock.now()
    clinics = {c.clinic_id: c for c in Clinic.scan()}
    # Where each address reads its times: the patient's zone, else the clinic's (an outbox entry knows no clinic).
    zones: dict[str, str] = {}
    for patient in Patient.scan():
        zone = patient.timezone or (clinics[patient.clinic_id].timezone if patient.clinic_id in clinics else None)
        for address in (patient.phone, patient.email):
            if address and zone:
                zones.setdefault(address, zone)
    month = billing_month(now)
    listed = []
    for clinic in sorted(clinics.values(), key=lambda c: c.name):
        try:
            usage: Usage | None = Usage.get(clinic.clinic_id, month)
        except Usage.DoesNotExist:
            usage = None
        listed.append(
            {
                "clinic_id": clinic.clinic_id,
                "name": clinic.name,
                "timezone": clinic.timezone,
                "status": clinic.status,
                "usage": {
                    "month": month,
                    "sms_messages": int(usage.sms_messages) if usage else 0,
                    "sms_segments": int(usage.sms_segments) if usage else 0,
                    "emails": int(usage.emails) if usage else 0,
                    "whatsapp_messages": int(usage.whatsapp_messages or 0) if usage else 0,
                    "messenger_messages": int(usage.messenger_messages or 0) if usage else 0,
                    "estimated_cost_usd": float(usage.estimated_cost_usd) if usage else 0.0,
                    "spend_cap_skips": int(usage.spend_cap_skips) if usage else 0,
                },
            }
        )
    pending = _pending(stack)
    coming = [_coming(stack, at, name, clinics) for at, name in pending[:COMING_SHOWN]]
    messages = stack.outbox.messages()
    outbox = [
        {**m, "to": mask(m["to"]), "local_time": _local(m["sent_at"], zones.get(m["to"].split(", ")[0]))}
        for m in reversed(messages[-SENT_SHOWN:])
    ]
    for m in outbox:
        m.pop("raw", None)  # the whole MIME message: its unmasked headers belong to /_local/outbox, not here
    return {
        "clock": {"now": iso_utc(now), "frozen": stack.clock.frozen},
        "coming": coming,
        "coming_total": len(pending),
        "outbox": outbox,
        "outbox_total": len(messages),
        "clinics": listed,
    }


def _pending(stack: LocalStack) -> list[tuple[datetime, str]]:
    return stack.scheduler.due(_END_OF_TIME, per_schedule=1)  # one occurrence each: a daily cron is not listed forever


def _local(at_utc: str, zone: str | None) -> dict[str, str] | None:
    if not zone or not at_utc:
        return None
    moment = datetime.fromisoformat(at_utc).astimezone(ZoneInfo(zone))
    return {"time": moment.strftime("%a %d %b %Y %H:%M"), "zone": zone}


def _coming(stack: LocalStack, at: datetime, name: str, clinics: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.arm.envelope import (
        BadTimerEvent,
        DeliveryWindowTimerEvent,
        DoseTimerEvent,
        ReminderTimerEvent,
        parse_timer_event,
    )

    entry: dict[str, Any] = {"schedule": name, "at_utc": iso_utc(at)}
    try:
        event = parse_timer_event(stack.scheduler.event_of(name, at))
    except BadTimerEvent:
        return {**entry, "kind": None, "note": "not a CareCue timer input"}
    clinic = clinics.get(event.clinic_id)
    entry.update(
        kind=event.kind.value,
        clinic_id=event.clinic_id,
        clinic=clinic.name if clinic else None,
        owner_type=event.owner_type.value if event.owner_type else None,
        local_time=_local(iso_utc(at), clinic.timezone if clinic else None),
    )
    if isinstance(event, ReminderTimerEvent):
        entry.update(_reminder(event, at, stack.clock.now()))
    elif isinstance(event, DoseTimerEvent):
        entry.update(_dose(event, at, stack.clock.now()))
    elif isinstance(event, DeliveryWindowTimerEvent):
        entry.update(
            owner_id=event.owner_id,
            reminder_id=event.reminder_id,
            why=f"the delivery window of {event.reminder_id}: sent on the next channel unless reported delivered",
        )
    else:
        entry.update(_watch(event, at))
    return entry


def _reminder(event: Any, at: datetime, now: datetime) -> dict[str, Any]:
    from chalicelib.composition import services
    from chalicelib.fire.appointment_messages import AppointmentMessages
    from chalicelib.fire.dispatch import DeliveryRequest
    from chalicelib.regimens.doses import RegimenMessages
    from chalicelib.store import deliveries

    found = deliveries.reminder(event.owner_id, event.reminder_id)
    owner_type = event.owner_type.value if event.owner_type else (found.owner_type if found else "appointment")
    shown: dict[str, Any] = {
        "owner_id": event.owner_id,
        "reminder_id": event.reminder_id,
        "why": f"{event.reminder_id} of {owner_type} {event.owner_id}",
    }
    if found is None:
        return {**shown, "note": "its reminder is gone: it will send nothing"}
    shown.update(reminder_kind=found.kind, channel=found.channel, owner_type=owner_type)
    request = DeliveryRequest(
        event.clinic_id,
        event.owner_id,
        event.reminder_id,
        event.version,
        at,
        event.patient_id,
        event.owner_type,
        event.dose_time,
    )
    app = services()
    owner = (
        AppointmentMessages(app.link_signer, app.settings.ses_sender)
        if owner_type == "appointment"
        else RegimenMessages(app.link_signer, app.settings.public_url)
    )
    return _worded(owner, request, found, at, now, shown)


def _worded(
    owner: Any, request: Any, reminder: Any, at: datetime, now: datetime, shown: dict[str, Any]
) -> dict[str, Any]:
    """`shown` with the message its owner's `prepare` and `render` make of `reminder` now (nothing claimed)."""
    from chalicelib.core.words import ClinicStatus
    from chalicelib.fire.chat_route import route
    from chalicelib.fire.preparation import NotSending

    try:
        prepared = owner.prepare(request, reminder)
        if isinstance(prepared, NotSending):
            return {**shown, "note": f"would send nothing now ({prepared.reason})"}
        if prepared.clinic.status != ClinicStatus.ACTIVE:
            return {**shown, "note": "would send nothing now (clinic_suspended)"}
        # The dispatcher's own routing: a phone message may go by WhatsApp or Messenger instead, by the patient's
        # channel order (chalicelib.fire.chat_route).
        prepared = route(prepared, reminder.kind, now)
        message = prepared.render()
    except Exception as e:  # noqa: BLE001 - one timer the console cannot word must not hide all the others
        return {**shown, "note": f"could not be worded here ({type(e).__name__}); it is worded again when it fires"}
    local = _local(iso_utc(at), prepared.zone) if prepared.zone else None
    shown.update(to=mask(prepared.address), channel=prepared.channel.value, subject=message.subject, text=message.body)
    if local is not None:
        shown["local_time"] = local
    return shown


def _dose(event: DoseTimerEvent, at: datetime, now: datetime) -> dict[str, Any]:
    """A dose timer: the dose reminder `dose_due` would send at `at`, worded as `_reminder` words one."""
    from chalicelib.arm.envelope import OwnerType
    from chalicelib.composition import services
    from chalicelib.core.words import Channel, RegimenStatus, Status
    from chalicelib.fire.dispatch import DeliveryRequest
    from chalicelib.regimens.doses import RegimenMessages, _is_planned, stamp
    from chalicelib.regimens.messages import DoseKind
    from chalicelib.regimens.service import instructions_of
    from chalicelib.store import regimens
    from chalicelib.store.models import Reminder
    from chalicelib.store.patients import get_patient

    due = event.scheduled_time
    shown: dict[str, Any] = {
        "owner_id": event.regimen_id,
        "why": f"dose of regimen {event.regimen_id} (instruction {event.instruction})",
        "reminder_kind": DoseKind.DOSE.value,
    }
    regimen = regimens.find(event.clinic_id, event.regimen_id)
    if regimen is None:
        return {**shown, "note": "its regimen is gone: it will send nothing"}
    if regimen.version != event.version or regimen.status != RegimenStatus.ACTIVE:
        return {**shown, "note": "would send nothing now (regimen_changed)"}
    instructions = instructions_of(regimen)
    # dose_due's own check (a private helper of the fire path, read here so the console cannot disagree with it)
    if not 0 <= event.instruction < len(instructions) or not _is_planned(instructions[event.instruction], regimen, due):
        return {**shown, "note": "would send nothing now (not_a_planned_dose)"}
    channel = Channel.SMS if get_patient(regimen.clinic_id, regimen.patient_id).phone else Channel.EMAIL
    reminder_id = f"{DoseKind.DOSE.value}-{stamp(due)}.{channel.value}"  # as RegimenDoses._send names it
    reminder = Reminder(  # in memory only: the firing creates (and claims) its own
        regimen.regimen_id,
        reminder_id,
        owner_type="regimen",
        clinic_id=regimen.clinic_id,
        kind=DoseKind.DOSE.value,
        channel=channel.value,
        send_at=due,
        status=Status.SCHEDULED.value,
        owner_version=int(regimen.version),
    )
    request = DeliveryRequest(
        regimen.clinic_id,
        regimen.regimen_id,
        reminder_id,
        int(regimen.version),
        due,
        owner_type=OwnerType.REGIMEN,
        dose_time=due,
    )
    app = services()
    shown.update(reminder_id=reminder_id, channel=channel.value)
    return _worded(RegimenMessages(app.link_signer, app.settings.public_url), request, reminder, at, now, shown)


def _watch(event: WatchTimerEvent, at: datetime) -> dict[str, Any]:
    """A running-late watch: the texts its refresh would send at `at`, from the queue as stored now."""
    from chalicelib.clinics.policy import clinic_policy
    from chalicelib.core.errors import NotFound
    from chalicelib.core.words import ClinicStatus
    from chalicelib.store import clinic_day
    from chalicelib.visits.day import UNASSIGNED, local_day, provider_key
    from chalicelib.visits.status import ARRIVED, BOOKED
    from chalicelib.waiting.day import build_queue, day_appointments, provider_ratio
    from chalicelib.waiting.notices import (
        DEFAULT_LATE_THRESHOLD,
        LATE_HORIZON,
        WaitTold,
        late_step,
        late_text,
        late_text_due,
        wait_text,
        wait_text_due,
    )

    provider = event.provider
    shown: dict[str, Any] = {"owner_id": provider, "why": f"running-late watch of {provider}", "texts": []}
    try:
        clinic = clinic_day.clinic(event.clinic_id)
    except NotFound:
        return {**shown, "note": "its clinic is gone: it will send nothing"}
    policy = clinic_policy(clinic)
    day = local_day(event.scheduled_time, clinic.timezone)
    if at >= policy.opening_hours.closes_at(day, clinic.timezone):
        return {**shown, "note": "closes the provider's day at closing time: sends nothing"}
    if clinic.status != ClinicStatus.ACTIVE:
        return {**shown, "note": "would send nothing now (clinic_suspended)"}
    appointments = [a for a in day_appointments(clinic.clinic_id, day, clinic.timezone) if provider_key(a) == provider]
    queue = build_queue(provider, appointments, provider_ratio(clinic.clinic_id, provider), at)
    texts: list[tuple[Any, str, str]] = []  # (appointment, kind, text), in WaitingService.refresh's order
    for appointment in queue.appointments:
        estimate = queue.estimates.get(appointment.appointment_id)
        if appointment.status != ARRIVED or estimate is None:
            continue
        told = WaitTold(
            appointment.wait_promised_at, int(appointment.wait_updates or 0), bool(appointment.wait_next_texted)
        )
        decision = wait_text_due(told, at, estimate.called_at, estimate.ahead, queue.in_progress is not None)
        if decision is not None:
            texts.append((appointment, f"wait_{decision.text}", wait_text(clinic.name, decision)))
    step = late_step(queue.lag, DEFAULT_LATE_THRESHOLD)
    for appointment in queue.appointments if step else []:
        if appointment.status != BOOKED or not at < appointment.start <= at + LATE_HORIZON:
            continue
        quiet = policy.quiet_hours is not None and policy.quiet_hours.contains(
            at, appointment.timezone or clinic.timezone
        )
        if late_text_due(step, int(appointment.late_step or 0), int(appointment.late_texts or 0), quiet):
            named = None if provider == UNASSIGNED else provider
            texts.append((appointment, "running_late", late_text(clinic.name, named, queue.lag)))
    for appointment, kind, text in texts:
        phone = clinic_day.patient(appointment.clinic_id, appointment.patient_id).phone
        if phone:  # the waiting room texts by SMS only
            shown["texts"].append(
                {
                    "appointment_id": appointment.appointment_id,
                    "kind": kind,
                    "channel": "sms",
                    "to": mask(phone),
                    "text": text,
                }
            )
    if not shown["texts"]:
        shown["note"] = "would text no one now: no patient is due a wait or running-late text at its time"
    return shown


# --- HTML ------------------------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def linked(text: str) -> str:
    """The text escaped, every http(s) address in it a link."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,);")
        end = match.start() + len(url)
        parts += [_e(text[last : match.start()]), f'<a href="{_e(url)}">{_e(url)}</a>']
        last = end
    parts.append(_e(text[last:]))
    return "".join(parts)


def _utc_text(at_utc: str) -> str:
    return datetime.fromisoformat(at_utc).astimezone(UTC).strftime("%a %d %b %Y %H:%M:%S UTC")


def _when(entry: dict[str, Any], utc_key: str) -> str:
    local = entry.get("local_time")
    head = f"{_e(local['time'])} <small>{_e(local['zone'])}</small><br>" if local else ""
    return f"{head}<small>{_e(entry[utc_key])} UTC</small>"


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0 auto;padding:.75rem;max-width:60rem;line-height:1.35}"
    "h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.5rem}"
    "ol,ul{padding:0;list-style:none}li.card{border:1px solid #ccc;border-radius:.4rem;padding:.6rem;margin:.5rem 0}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.4rem 0 0;font-family:inherit}"
    "a{overflow-wrap:anywhere}.meta{color:#444}form{display:inline-block;margin:.2rem .4rem .2rem 0}"
    "button,input{font-size:1rem;padding:.45rem .7rem}small{color:#555}"
)


def console_html(data: dict[str, Any]) -> str:
    clock = data["clock"]
    coming = "".join(_coming_html(c) for c in data["coming"]) or "<li>Nothing armed.</li>"
    outbox = "".join(_sent_html(m) for m in data["outbox"]) or "<li>Nothing sent yet.</li>"
    clinics = "".join(_clinic_html(c) for c in data["clinics"]) or "<li>No clinics yet.</li>"
    frozen = " (frozen)" if clock["frozen"] else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>CareCue local console</title><style>{_STYLE}</style></head><body>"
        "<h1>CareCue local console</h1>"
        f"<section id='clock'><h2>Clock</h2><p>Now: <strong>{_e(_utc_text(clock['now']))}</strong>{frozen}</p>"
        "<form method='post' action='/_local/clock/form'><input type='hidden' name='advance' value='PT1H'>"
        "<button>+1 hour</button></form>"
        "<form method='post' action='/_local/clock/form'><input type='hidden' name='advance' value='P1D'>"
        "<button>+1 day</button></form>"
        "<form method='post' action='/_local/clock/form'><label>Jump to (UTC) "
        "<input type='datetime-local' name='to' required></label> <button>Jump</button></form></section>"
        f"<section id='coming'><h2>Coming sends ({_shown(data['coming'], data['coming_total'])})</h2>"
        f"<ol>{coming}</ol></section>"
        f"<section id='outbox'><h2>Outbox ({_shown(data['outbox'], data['outbox_total'])}, newest first)</h2>"
        f"<ol>{outbox}</ol></section>"
        f"<section id='clinics'><h2>Clinics and this month's usage</h2><ul>{clinics}</ul></section>"
        "</body></html>"
    )


def _shown(listed: list[Any], total: int) -> str:
    return str(total) if len(listed) == total else f"the first {len(listed)} of {total}"


def _coming_html(c: dict[str, Any]) -> str:
    what = " · ".join(_e(part) for part in (c.get("channel"), c.get("to"), c.get("clinic")) if part)
    text = f"<pre>{linked(c['text'])}</pre>" if c.get("text") else ""
    text += "".join(
        f"<div class='meta'>{_e(t['kind'])} · {_e(t['channel'])} · {_e(t['to'])}</div><pre>{linked(t['text'])}</pre>"
        for t in c.get("texts", [])
    )
    subject = f"<div><strong>{_e(c['subject'])}</strong></div>" if c.get("subject") else ""
    note = f"<div><em>{_e(c['note'])}</em></div>" if c.get("note") else ""
    return (
        f"<li class='card coming' data-schedule='{_e(c['schedule'])}'>"
        f"<div>{_when(c, 'at_utc')}</div><div class='meta'>{what}</div>"
        f"<div class='meta'>Why: {_e(c.get('why') or c.get('kind'))}</div>{subject}{text}{note}</li>"
    )


def _sent_html(m: dict[str, Any]) -> str:
    subject = f"<div><strong>{_e(m['subject'])}</strong></div>" if m.get("subject") else ""
    return (
        f"<li class='card sent' data-message-id='{_e(m['message_id'])}'><div>{_when(m, 'sent_at')}</div>"
        f"<div class='meta'>{_e(m['channel'])} · {_e(m['to'])}</div>{subject}<pre>{linked(m['body'])}</pre></li>"
    )


def _clinic_html(c: dict[str, Any]) -> str:
    u = c["usage"]
    return (
        f"<li class='card clinic' data-clinic-id='{_e(c['clinic_id'])}'><strong>{_e(c['name'])}</strong>"
        f" <small>{_e(c['timezone'])} · {_e(c['status'])}"
        f"</small><div class='meta'>{_e(u['month'])}: {_e(u['sms_messages'])} SMS ({_e(u['sms_segments'])} segments),"
        f" {_e(u['emails'])} emails, {_e(u['whatsapp_messages'])} WhatsApp,"
        f" {_e(u['messenger_messages'])} Messenger, about ${u['estimated_cost_usd']:.4f},"
        f" {_e(u['spend_cap_skips'])} skipped at the spend cap</div></li>"
    )
