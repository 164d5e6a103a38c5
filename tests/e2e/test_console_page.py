"""The local console (`/_local/`) on the running stack: a booking's coming reminders, a regimen's dose reminder and
a running-late watch's texts, with masked recipients and local times, worded as they will go; the outbox with
links; the clinic's usage; the clock's +1 day button; as JSON, and in headless Chromium at phone and desktop
widths, with screenshots in test-artifacts/."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import NEW_YORK, Clinic, LocalStack, day_after, iso_z, without_confirm_link
from tests.e2e.test_waiting_room import ARTIFACTS, Morning, browser  # noqa: F401 (the Chromium fixture)

PHONE, EMAIL = "+14155550191", "pat.console@example.org"  # a number no other test on the shared stack uses
MASKED_PHONE, MASKED_EMAIL = "+1 415 \u2022\u2022\u2022 \u2022\u202291", "p\u2022\u2022@example.org"
JSON_ACCEPT = {"Accept": "application/json"}
DOSE_PHONE, MASKED_DOSE_PHONE = "+14155550196", "+1 415 \u2022\u2022\u2022 \u2022\u202296"
WATCH_PHONES = {"A": "+14155550192", "B": "+14155550193", "C": "+14155550194", "D": "+14155550195"}
DOSE_LINK = re.compile(r"/d/\S+")


def _book(stack: LocalStack, clinic: Clinic) -> tuple[str, Any]:
    """With the clock moved to a noon in New York, an appointment at 15:00 the day after: its 24 h reminder is due
    within the next day, its 2 h one after it, both outside quiet hours (which would defer them); the clinic asks
    for both channels."""
    stack.ask_for_both(clinic)
    noon = day_after(stack.now(), 1, 12, 0, NEW_YORK)
    stack.advance_to(noon)
    start = noon + timedelta(hours=27)
    booked = stack.book_for(
        clinic, {"patient": {"name": "Pat Example", "phone": PHONE, "email": EMAIL}, "start": start.isoformat()}
    )
    return str(booked["id"]), start


def _console(stack: LocalStack) -> dict[str, Any]:
    status, body = stack.local.request("GET", "/_local/", None, headers=JSON_ACCEPT)
    assert status == 200, body
    return dict(body)


def _ny(moment: Any) -> str:
    return str(moment.astimezone(ZoneInfo(NEW_YORK)).strftime("%a %d %b %Y %H:%M"))


def test_the_console_as_json_shows_coming_sends_worded_as_they_go_the_outbox_and_usage(stack: LocalStack) -> None:
    # GIVEN a booking with a phone and an email
    clinic = stack.create_clinic("Console JSON Clinic", NEW_YORK)
    appointment_id, start = _book(stack, clinic)
    day_before = start - timedelta(hours=24)

    # WHEN the console is asked for JSON
    data = _console(stack)

    # THEN the four reminders are coming in time order, masked, with local and UTC times and why
    ours = [c for c in data["coming"] if c["schedule"].startswith(f"{appointment_id}.")]
    assert [c["at_utc"] for c in data["coming"]] == sorted(c["at_utc"] for c in data["coming"])
    assert [(c["reminder_id"], c["channel"], c["to"]) for c in ours] == [
        ("reminder-24h.email", "email", MASKED_EMAIL),
        ("reminder-24h.sms", "sms", MASKED_PHONE),
        ("reminder-2h.email", "email", MASKED_EMAIL),
        ("reminder-2h.sms", "sms", MASKED_PHONE),
    ]
    sms = ours[1]
    assert sms["at_utc"] == iso_z(day_before)
    assert sms["local_time"] == {"time": _ny(day_before), "zone": NEW_YORK}
    assert sms["why"] == f"reminder-24h.sms of appointment {appointment_id}"
    assert sms["clinic"] == clinic.name
    assert PHONE not in str(data) and EMAIL not in str(data)

    # AND the outbox has the confirmations, masked, at local time; the clinic's usage counts them
    sent = [m for m in data["outbox"] if m["to"] in (MASKED_PHONE, MASKED_EMAIL)]
    assert {m["channel"] for m in sent} >= {"sms", "email"}
    assert all(m["local_time"]["zone"] == NEW_YORK for m in sent)
    (listed,) = [c for c in data["clinics"] if c["clinic_id"] == clinic.clinic_id]
    assert (listed["usage"]["sms_messages"], listed["usage"]["emails"]) == (1, 1)

    # WHEN the clock passes the 24 h reminder
    stack.advance_to(day_before + timedelta(seconds=1))

    # THEN the SMS that went is the text the console showed (the confirm link's token is signed afresh each time)
    (went,) = [m for m in stack.outbox(PHONE) if m["sent_at"] == iso_z(day_before)]
    assert without_confirm_link(went["body"]) == without_confirm_link(sms["text"])
    assert went["body"] != without_confirm_link(went["body"])  # it has its link
    after = _console(stack)
    assert [c["reminder_id"] for c in after["coming"] if c["schedule"].startswith(f"{appointment_id}.")] == [
        "reminder-2h.email",
        "reminder-2h.sms",
    ]


def test_the_console_in_chromium_on_a_phone_and_a_desktop(stack: LocalStack, browser: Any) -> None:  # noqa: F811
    # GIVEN a booking at a clinic whose name has characters HTML gives meaning to
    clinic = stack.create_clinic("Console <Test> & Clinic", NEW_YORK)
    appointment_id, start = _book(stack, clinic)
    day_before = start - timedelta(hours=24)
    ARTIFACTS.mkdir(exist_ok=True)

    # WHEN the console is opened on a phone
    browser.set_window_size(390, 844)
    browser.get(stack.api_url + "/_local/")

    # THEN it fits the width, and shows the coming SMS reminder masked, at its local time, saying why
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    card = browser.find_element("css selector", f"li.coming[data-schedule='{appointment_id}.reminder-24h.sms']")
    assert MASKED_PHONE in card.text
    assert _ny(day_before) in card.text and f"{iso_z(day_before)} UTC" in card.text
    assert f"reminder-24h.sms of appointment {appointment_id}" in card.text
    assert "Console <Test> & Clinic" in card.text  # escaped in the page, shown as written
    assert "<Test>" not in browser.page_source
    # AND the outbox has the confirmation, and the clinic its usage
    outbox = browser.find_element("id", "outbox").text
    assert MASKED_PHONE in outbox and "booked for" in outbox
    usage = browser.find_element("css selector", f"li.clinic[data-clinic-id='{clinic.clinic_id}']").text
    assert "1 SMS" in usage and "1 emails" in usage
    assert browser.save_screenshot(str(ARTIFACTS / "local-console-phone.png"))

    # WHEN +1 day is pressed
    browser.find_element("xpath", "//button[text()='+1 day']").click()

    # THEN the page is back with the clock a day on, the 24 h reminder gone from the coming sends, in the outbox
    assert browser.current_url.endswith("/_local/")
    coming = [e.get_attribute("data-schedule") for e in browser.find_elements("css selector", "li.coming")]
    assert f"{appointment_id}.reminder-24h.sms" not in coming
    assert f"{appointment_id}.reminder-2h.sms" in coming
    sent = [e for e in browser.find_elements("css selector", "li.sent") if _ny(day_before) in e.text]
    sms = [e for e in sent if MASKED_PHONE in e.text]
    assert len(sms) == 1
    # AND its confirm link is a link to this stack's patient page
    links = [a.get_attribute("href") for a in sms[0].find_elements("tag name", "a")]
    assert len(links) == 1 and links[0].startswith(stack.api_url + "/p/")

    # AND on a desktop the same page shows the same, with room to spare
    browser.set_window_size(1280, 800)
    browser.refresh()
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert browser.find_elements("css selector", f"li.coming[data-schedule='{appointment_id}.reminder-2h.sms']")
    assert browser.save_screenshot(str(ARTIFACTS / "local-console-desktop.png"))


def test_the_clock_form_refuses_a_move_it_cannot_make_in_the_error_envelope(stack: LocalStack) -> None:
    # GIVEN the clock where it is
    before = stack.now()
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    # WHEN the form asks for a month (not a fixed length of time) or for a moment in the past
    month = stack.local.request("POST", "/_local/clock/form", b"advance=P1M", headers=form)
    back = stack.local.request("POST", "/_local/clock/form", b"to=2000-01-01T09:00", headers=form)

    # THEN both are refused, naming the field, and the clock has not moved
    assert month[0] == 400 and month[1]["error"]["fields"][0]["field"] == "advance"
    assert "not months or years" in month[1]["error"]["message"]
    assert back[0] == 400 and back[1]["error"]["fields"][0]["field"] == "to"
    assert "cannot go back" in back[1]["error"]["message"]
    assert stack.now() - before < timedelta(minutes=1)


def test_the_console_words_a_coming_dose_reminder_as_the_sms_that_goes(stack: LocalStack) -> None:
    # GIVEN a 15:00 dose (one only: a dose cron without an end would fire on every later move of the shared
    # stack's clock) of a regimen made at noon in New York
    clinic = stack.create_clinic("Console Dose Clinic", NEW_YORK)
    noon = day_after(stack.now(), 1, 12, 0, NEW_YORK)
    stack.advance_to(noon)
    regimen = {
        "patient": {"name": "Pat Example", "phone": DOSE_PHONE},
        "medication": "Examplamab 10 mg",
        "dose": "1 tablet",
        "timing": {"repeat": {"count": 1, "frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["15:00:00"]}},
    }
    status, created = stack.api(clinic).post("/v1/regimens", regimen)
    assert status == 201, created
    due = noon + timedelta(hours=3)

    # WHEN the console is asked for JSON
    data = _console(stack)

    # THEN the dose is coming at 15:00 local (and in UTC), to the masked phone, worded, saying why
    (dose,) = [c for c in data["coming"] if c.get("owner_id") == created["id"]]
    assert (dose["kind"], dose["channel"], dose["to"]) == ("dose", "sms", MASKED_DOSE_PHONE)
    assert dose["at_utc"] == iso_z(due)
    assert dose["local_time"] == {"time": _ny(due), "zone": NEW_YORK}
    assert dose["why"] == f"dose of regimen {created['id']} (instruction 0)"
    assert clinic.name in dose["text"] and "/d/" in dose["text"]
    assert DOSE_PHONE not in str(data)

    # WHEN the clock passes 15:00
    stack.advance_to(due + timedelta(seconds=1))

    # THEN the SMS that went is the text the console showed, but for its taken link's token (signed afresh)
    (went,) = [m for m in stack.outbox(DOSE_PHONE) if m["sent_at"] == iso_z(due)]
    assert DOSE_LINK.sub("/d/", went["body"]) == DOSE_LINK.sub("/d/", dose["text"])
    # AND that was the regimen's one dose: nothing of it is coming any more
    assert [c for c in _console(stack)["coming"] if c.get("owner_id") == created["id"] and c["kind"] == "dose"] == []


def test_the_console_words_a_running_late_watchs_texts_as_they_go(stack: LocalStack) -> None:
    # GIVEN the waiting room's morning: A's 09:30 visit runs long, B waits, C and D are still at home
    clinic = stack.create_clinic("Console Watch Clinic", NEW_YORK)
    morning = Morning(stack, clinic)
    morning.go_to("08:00")
    body = {"provider": "Dr. Rivera"}
    ids = {}
    for who, hhmm in zip("ABCD", ("09:30", "10:00", "10:30", "11:00"), strict=True):
        patient = {"name": "Pat Example", "phone": WATCH_PHONES[who]}
        ids[who] = stack.book_for(clinic, {**body, "patient": patient, "start": morning.at(hhmm).isoformat()})["id"]
    morning.go_to("09:25")
    assert morning.move(ids["A"], "check-in")[0] == 200
    morning.go_to("09:30")
    assert morning.move(ids["A"], "start")[0] == 200
    morning.go_to("09:55")
    assert morning.move(ids["B"], "check-in")[0] == 200
    morning.go_to("10:05")

    # WHEN the console is asked for JSON
    (watch,) = [c for c in _console(stack)["coming"] if c["kind"] == "watch" and c["clinic_id"] == clinic.clinic_id]

    # THEN the watch at 10:10 will tell C and D, masked, that Dr. Rivera runs 20 minutes late; B, here, nothing
    assert watch["at_utc"] == iso_z(morning.at("10:10"))
    assert watch["local_time"] == {"time": _ny(morning.at("10:10")), "zone": NEW_YORK}
    late = f"{clinic.name}: Dr. Rivera is running about 20 min late today. "
    late += "Please still arrive on time unless we tell you otherwise."
    masked = {who: f"+1 415 \u2022\u2022\u2022 \u2022\u2022{phone[-2:]}" for who, phone in WATCH_PHONES.items()}
    assert [(t["appointment_id"], t["kind"], t["to"], t["text"]) for t in watch["texts"]] == [
        (ids["C"], "running_late", masked["C"], late),
        (ids["D"], "running_late", masked["D"], late),
    ]

    # WHEN it fires
    morning.go_to("10:10")

    # THEN C and D got exactly that text
    for who in "CD":
        assert [m["body"] for m in stack.outbox(WATCH_PHONES[who]) if "running" in m["body"]] == [late]
