"""A patient's new phone end to end on the running local stack: from the link in their confirmation to "update my
details", a code sent to the new number (and only there), entered, the change in the clinic's history through the
API, and the next reminder on the new number. The same on a phone-sized window in headless Chromium, with a
screenshot in test-artifacts/."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from tests.e2e.conftest import NEW_YORK, ONE_SECOND, LocalStack, day_after, spoken
from tests.e2e.test_previsit_form import PHONE_WINDOW, assert_phone_ready
from tests.e2e.test_previsit_form import press as press_and_wait
from tests.e2e.test_waiting_room import ARTIFACTS, browser  # noqa: F401 (the Chromium fixture)

# Numbers no other test on the shared stack uses.
OLD_PHONE, NEW_PHONE = "+14155550181", "+14155550182"
BROWSER_OLD, BROWSER_NEW = "+14155550183", "+14155550184"
ARABIC_PHONE = "+14155550185"
PATIENT_LINK = re.compile(r"http://127\.0\.0\.1:\d+(/p/[A-Za-z0-9_-]+)")
DETAILS_LINK = re.compile(r'<a href="http://127\.0\.0\.1:\d+(/u/[A-Za-z0-9_-]+)">Update my details</a>')
CODE = re.compile(r"^(\d{6}) is your code to confirm your new phone number for ")
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded"}


def details_path(stack: LocalStack, phone: str) -> str:
    """The patient's way in: the confirm link of their latest reminder, its page's "Update my details"."""
    linked = [found for m in stack.outbox(phone) if (found := PATIENT_LINK.search(m["body"]))]
    assert linked, stack.outbox(phone)
    found = linked[-1]
    status, _, page = stack.local.raw("GET", found[1])
    assert status == 200
    details = DETAILS_LINK.search(page)
    assert details is not None, page
    return details[1]


def post(stack: LocalStack, path: str, **fields: str) -> tuple[int, str]:
    status, _, page = stack.local.raw("POST", path, urlencode(fields).encode(), FORM_POST)
    return status, html.unescape(page)


def code_in(stack: LocalStack, phone: str) -> str:
    codes = [found[1] for m in stack.outbox(phone) if (found := CODE.match(m["body"]))]
    assert codes, stack.outbox(phone)
    return codes[-1]


def test_a_new_phone_proven_by_its_code_gets_the_next_reminder(stack: LocalStack) -> None:
    # GIVEN a booking, and the day-before reminder on the patient's old phone, with its confirm link
    clinic = stack.create_clinic("Details Phone Clinic", NEW_YORK)
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    booked = stack.book_for(
        clinic, {"patient": {"name": "Pat Example", "phone": OLD_PHONE}, "start": start.isoformat()}
    )
    patient_id = booked["patient"]["id"]
    stack.advance_to(start - timedelta(hours=24) + ONE_SECOND)
    path = details_path(stack, OLD_PHONE)

    # WHEN the patient gives a new number on "update my details"
    status, page = post(stack, path, _action="save", phone=NEW_PHONE)

    # THEN a code goes to the new number, and nothing changes until it is entered
    assert status == 200
    assert "We sent a 6-digit code to your new phone ending in 0182" in page
    code = code_in(stack, NEW_PHONE)
    assert [m["body"] for m in stack.outbox(OLD_PHONE) if "code" in m["body"]] == []
    _, shown = stack.api(clinic).get(f"/v1/patients/{patient_id}")
    assert shown["phone"] == OLD_PHONE

    # WHEN they enter it
    status, page = post(stack, path, _action="verify", code_phone=code)

    # THEN the new number is the patient's, and the clinic sees who changed what, and when, through the API
    assert status == 200
    assert "Saved: the clinic's messages will now go to your new phone." in page
    _, shown = stack.api(clinic).get(f"/v1/patients/{patient_id}")
    assert shown["phone"] == NEW_PHONE
    status, history = stack.api(clinic).get(f"/v1/patients/{patient_id}/changes")
    assert status == 200
    (change,) = history["changes"]
    assert {k: change[k] for k in ("field", "old", "new", "by", "actor", "proof")} == {
        "field": "phone",
        "old": OLD_PHONE,
        "new": NEW_PHONE,
        "by": "patient",
        "actor": "patient_link",
        "proof": "sms_code",
    }
    assert history["next"] is None

    # AND the next reminder, two hours before, goes to the new number and not the old one
    before = len(stack.outbox(OLD_PHONE))
    stack.advance_to(start - timedelta(hours=2) + ONE_SECOND)
    reminders = [m for m in stack.outbox(NEW_PHONE) if spoken(start, NEW_YORK) in m["body"]]
    assert len(reminders) == 1, stack.outbox(NEW_PHONE)
    assert len(stack.outbox(OLD_PHONE)) == before


def test_a_patient_changes_their_phone_on_a_phone_sized_screen(stack: LocalStack, browser: Any) -> None:  # noqa: F811
    # The form's own `press`: Chromium can answer a node of the page just left with "Node with given id does not
    # belong to the document", which Selenium's `staleness_of` does not take for a page gone (it failed here so).
    def press(action: str) -> None:
        press_and_wait(browser, action)

    # GIVEN a booking, and the details link the patient reaches from their reminder
    clinic = stack.create_clinic("Details Browser Clinic", NEW_YORK)
    start = day_after(stack.now(), 2, 9, 30, NEW_YORK)
    booked = stack.book_for(
        clinic, {"patient": {"name": "Pat Example", "phone": BROWSER_OLD}, "start": start.isoformat()}
    )
    stack.advance_to(start - timedelta(hours=24) + ONE_SECOND)
    path = details_path(stack, BROWSER_OLD)
    ARTIFACTS.mkdir(exist_ok=True)

    # WHEN they open it on a phone and type a new number that is not one
    browser.set_window_size(*PHONE_WINDOW)
    browser.get(stack.api_url + path)
    assert_phone_ready(browser, "en")
    assert browser.find_element("css selector", "label[for='d-phone']").text == "New mobile phone number"
    browser.find_element("id", "d-phone").send_keys("12")
    press("save")

    # THEN the problem is named next to the input, and in the list at the top
    assert browser.find_element("id", "e-phone").text.startswith("Error: Enter the phone number with its country")
    assert "Please check the details marked below." in browser.page_source

    # WHEN they type the right one, and the code the SMS brought
    field = browser.find_element("id", "d-phone")
    field.clear()
    field.send_keys(BROWSER_NEW)
    press("save")
    assert browser.find_element("css selector", "label[for='d-code_phone']").text == "Code sent to your new phone"
    assert browser.find_element("id", "d-code_phone").get_attribute("autocomplete") == "one-time-code"
    browser.find_element("id", "d-code_phone").send_keys(code_in(stack, BROWSER_NEW))
    assert_phone_ready(browser, "en")
    assert browser.save_screenshot(str(ARTIFACTS / "patient-details-code-en.png"))
    press("verify")

    # THEN it is saved, and the clinic's API has the new number
    assert "Saved: the clinic's messages will now go to your new phone." in browser.page_source.replace("&#x27;", "'")
    assert_phone_ready(browser, "en")
    _, shown = stack.api(clinic).get(f"/v1/patients/{booked['patient']['id']}")
    assert shown["phone"] == BROWSER_NEW


def test_the_details_page_in_arabic_reads_right_to_left_on_a_phone(stack: LocalStack, browser: Any) -> None:  # noqa: F811
    # GIVEN an Arabic-speaking patient's reminder
    clinic = stack.create_clinic("Details Arabic Clinic", NEW_YORK)
    start = day_after(stack.now(), 2, 11, 0, NEW_YORK)
    patient = {"name": "Pat Example", "phone": ARABIC_PHONE, "language": "ar"}
    stack.book_for(clinic, {"patient": patient, "start": start.isoformat()})
    stack.advance_to(start - timedelta(hours=24) + ONE_SECOND)
    linked = [found for m in stack.outbox(ARABIC_PHONE) if (found := PATIENT_LINK.search(m["body"]))]
    assert linked
    ARTIFACTS.mkdir(exist_ok=True)

    # WHEN they follow "update my details" (in Arabic) on a phone
    browser.set_window_size(*PHONE_WINDOW)
    browser.get(stack.api_url + linked[-1][1])
    browser.find_element("link text", "تحديث بياناتي").click()

    # THEN the page is in Arabic, right to left, every input with its label, and the number reads left to right
    assert_phone_ready(browser, "ar")
    assert browser.find_element("tag name", "h1").text == "بياناتك"
    assert browser.find_element("id", "d-phone").get_attribute("dir") == "ltr"
    assert browser.find_element("id", "d-language-2").is_selected()  # العربية
    assert browser.save_screenshot(str(ARTIFACTS / "patient-details-ar.png"))
