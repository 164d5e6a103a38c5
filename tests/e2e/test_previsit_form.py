"""A pre-visit form end to end on the running local stack: the clinic stores its FHIR Questionnaire and attaches
it, a booking's confirmation carries the form's link, the patient fills it on a phone-sized window in headless
Chromium (Debian's `chromium` and `chromium-driver`, driven by Selenium), leaving and coming back, and the clinic
reads the answers back as a FHIR QuestionnaireResponse. Screenshots for English and Arabic in test-artifacts/."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import NEW_YORK, Clinic, LocalStack, day_after
from tests.e2e.test_waiting_room import ARTIFACTS, browser  # noqa: F401 (the Chromium fixture)

PHONES = {"en": "+14155550171", "ar": "+14155550172"}  # numbers no other test on the shared stack uses


def arabic(content: str) -> dict[str, Any]:
    """FHIR's translation extension: the text in Arabic, which the page shows an Arabic-speaking patient."""
    parts = [{"url": "lang", "valueCode": "ar"}, {"url": "content", "valueString": content}]
    return {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation", "extension": parts}]}


FORM: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "id": "before-visit",
    "url": "http://clinic.example.org/Questionnaire/before-visit",
    "title": "Before your visit",
    "_title": arabic("قبل زيارتك"),
    "status": "active",
    "item": [
        {
            "linkId": "allergies",
            "text": "Do you have allergies?",
            "_text": arabic("هل لديك حساسية؟"),
            "type": "boolean",
            "required": True,
        },
        {
            "linkId": "allergies.which",
            "text": "Which allergies?",
            "type": "string",
            "maxLength": 60,
            "required": True,
            "enableWhen": [{"question": "allergies", "operator": "=", "answerBoolean": True}],
        },
        {
            "linkId": "visit",
            "text": "About this visit",
            "_text": arabic("عن هذه الزيارة"),
            "type": "group",
            "item": [
                {
                    "linkId": "reason",
                    "text": "What brings you in?",
                    "_text": arabic("ما سبب زيارتك؟"),
                    "type": "choice",
                    "repeats": True,
                    "required": True,
                    "answerOption": [
                        {"valueCoding": {"code": "pain", "display": "Pain", "_display": arabic("ألم")}},
                        {"valueCoding": {"code": "checkup", "display": "Check-up", "_display": arabic("فحص دوري")}},
                    ],
                },
                {
                    "linkId": "notes",
                    "text": "Anything else we should know?",
                    "_text": arabic("هل هناك شيء آخر يجب أن نعرفه؟"),
                    "type": "text",
                },
            ],
        },
    ],
}
LINK = re.compile(r"(http://127\.0\.0\.1:\d+)(/f/[A-Za-z0-9_-]+)")
PHONE_WINDOW = (390, 844)
PAGE_TIMEOUT_SECONDS = 30  # a bound on waiting for the next page, not a speed target


def with_form(stack: LocalStack, name: str) -> Clinic:
    clinic = stack.create_clinic(name, NEW_YORK)
    api = stack.api(clinic)
    status, created = api.post("/v1/questionnaires", FORM)
    assert status == 201, created
    _, settings = api.get("/v1/clinic")
    status, saved = api.request("PUT", "/v1/clinic", {**settings, "forms": [{"questionnaire": "before-visit"}]})
    assert status == 200, saved
    return clinic


def booked_with_link(stack: LocalStack, clinic: Clinic, language: str) -> tuple[str, str, datetime]:
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    patient = {"name": "Pat Example", "phone": PHONES[language], "language": language}
    booked = stack.book_for(clinic, {"patient": patient, "start": start.isoformat()})
    (confirmation,) = [m for m in stack.outbox(PHONES[language]) if "booked for" in m["body"] or "/f/" in m["body"]]
    found = LINK.search(confirmation["body"])
    assert found is not None, confirmation["body"]
    assert found[1] == stack.api_url  # the stack's own address: the link opens here
    return str(booked["id"]), found[0], start


def assert_phone_ready(driver: Any, language: str) -> None:
    """The page as a phone shows it: the patient's language and direction, no sideways scroll, every input the
    patient fills tied to a label, every button a large target."""
    root = driver.find_element("tag name", "html")
    assert root.get_attribute("lang") == language
    assert root.get_dom_attribute("dir") == ("rtl" if language == "ar" else None)
    direction = driver.execute_script("return getComputedStyle(document.body).direction")
    assert direction == ("rtl" if language == "ar" else "ltr")  # as the browser lays it out
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    untied = driver.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), textarea')]"
        ".filter(i => !i.labels || i.labels.length === 0).map(i => i.name)"
    )
    assert untied == []
    heights = driver.execute_script(
        "return [...document.querySelectorAll('button, label.opt, input[type=text], textarea')]"
        ".map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44


def press(driver: Any, action: str) -> None:
    """Presses a button, and waits for the page its post answers with (a click does not wait for it): the old
    page gone, and the new one loaded whole, so the next lookup does not find a node of a page still loading (on
    a busy machine Chromium answered "Node with given id does not belong to the document" without the second)."""
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element("tag name", "html")
    driver.find_element("css selector", f"button[value='{action}']").click()
    wait = WebDriverWait(driver, PAGE_TIMEOUT_SECONDS)
    wait.until(lambda _: _gone(page))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def _gone(element: Any) -> bool:
    """Whether `element`'s page has been replaced. Selenium's `staleness_of` expects a stale-element error only,
    but Chromium can answer a node of the page just left with "Node with given id does not belong to the
    document", a plain WebDriverException (it failed the test so under load): either way the old page is gone."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one too
        return True
    return False


def test_a_patient_fills_the_form_on_a_phone_and_the_clinic_reads_it_as_fhir(
    stack: LocalStack,
    browser: Any,  # noqa: F811
) -> None:
    # GIVEN a clinic whose every appointment has the form, and a booking
    clinic = with_form(stack, "Forms Phone Clinic")
    appointment_id, link, start = booked_with_link(stack, clinic, "en")
    ARTIFACTS.mkdir(exist_ok=True)

    # WHEN the patient opens the confirmation's link on a phone
    browser.set_window_size(*PHONE_WINDOW)
    browser.get(link)

    # THEN the first step asks, in English, what is required, in words
    assert_phone_ready(browser, "en")
    assert "Step 1 of 2" in browser.page_source
    legend = browser.find_element("css selector", "fieldset#q-allergies legend").text
    assert legend == "Do you have allergies? (required)"

    # WHEN they say yes: the follow-up question appears on the same step, and is required to go on
    browser.find_element("css selector", "label[for='q-allergies-0']").click()
    press(browser, "next")
    assert "More questions appeared below" in browser.page_source
    press(browser, "next")
    error = browser.find_element("id", "e-allergies-which").text
    assert error == "Error: This question is required."
    browser.find_element("id", "q-allergies-which").send_keys("Test allergen")
    press(browser, "next")
    assert "Step 2 of 2" in browser.page_source

    # AND they leave and come back: the next unanswered step, and Back shows what was saved
    browser.get(link)
    assert "Step 2 of 2" in browser.page_source
    press(browser, "back")
    assert browser.find_element("id", "q-allergies-0").is_selected()
    assert browser.find_element("id", "q-allergies-which").get_attribute("value") == "Test allergen"
    status, saved = stack.api(clinic).get(f"/v1/appointments/{appointment_id}/questionnaire-response")
    assert (status, saved["status"]) == (200, "in-progress")

    # WHEN they answer the last step and send it
    press(browser, "next")
    browser.find_element("css selector", "label[for='q-reason-1']").click()
    browser.find_element("id", "q-notes").send_keys("Example note")
    assert_phone_ready(browser, "en")
    assert browser.save_screenshot(str(ARTIFACTS / "previsit-form-en.png"))
    press(browser, "complete")

    # THEN the page thanks them, and the clinic reads a completed FHIR QuestionnaireResponse
    assert "Thank you. Your form has been sent to the clinic." in browser.page_source
    status, response = stack.api(clinic).get(f"/v1/appointments/{appointment_id}/questionnaire-response")
    assert status == 200
    assert response["resourceType"] == "QuestionnaireResponse"
    assert response["status"] == "completed"
    assert response["questionnaire"] == "http://clinic.example.org/Questionnaire/before-visit"
    assert response["subject"]["reference"].startswith("Patient/pat_")
    assert response["authored"].endswith("Z")
    assert response["item"] == [
        {"linkId": "allergies", "text": "Do you have allergies?", "answer": [{"valueBoolean": True}]},
        {"linkId": "allergies.which", "text": "Which allergies?", "answer": [{"valueString": "Test allergen"}]},
        {
            "linkId": "visit",
            "text": "About this visit",
            "item": [
                {
                    "linkId": "reason",
                    "text": "What brings you in?",
                    "answer": [{"valueCoding": {"code": "checkup", "display": "Check-up"}}],
                },
                {
                    "linkId": "notes",
                    "text": "Anything else we should know?",
                    "answer": [{"valueString": "Example note"}],
                },
            ],
        },
    ]
    # AND the front desk's queue says the form is done, and nothing of what it says
    day = start.astimezone(ZoneInfo(NEW_YORK)).date().isoformat()
    status, queue = stack.api(clinic).get(f"/v1/queue?date={day}")
    assert status == 200
    rows = [row for p in queue["providers"] for row in p["appointments"] if row["id"] == appointment_id]
    assert [row["form"] for row in rows] == [{"questionnaire": "before-visit", "done": True}]
    assert "Test allergen" not in str(queue)


def test_the_form_in_arabic_reads_right_to_left_on_a_phone(stack: LocalStack, browser: Any) -> None:  # noqa: F811
    # GIVEN a patient whose language is Arabic
    clinic = with_form(stack, "Forms Arabic Clinic")
    appointment_id, link, _ = booked_with_link(stack, clinic, "ar")
    ARTIFACTS.mkdir(exist_ok=True)

    # WHEN they open the form on a phone
    browser.set_window_size(*PHONE_WINDOW)
    browser.get(link)

    # THEN it is right to left, in Arabic words around the clinic's questions, each input with its label
    assert_phone_ready(browser, "ar")
    assert "الخطوة 1 من 2" in browser.page_source
    assert browser.find_element("tag name", "h1").text == "قبل زيارتك"  # the form's own Arabic translation
    assert browser.find_element("css selector", "fieldset#q-allergies legend").text == "هل لديك حساسية؟ (إجباري)"
    assert browser.find_element("css selector", "label[for='q-allergies-0']").text == "نعم"
    browser.find_element("css selector", "label[for='q-allergies-1']").click()
    press(browser, "next")
    assert "الخطوة 2 من 2" in browser.page_source
    assert browser.find_element("css selector", "label[for='q-reason-1']").text == "فحص دوري"
    press(browser, "complete")  # nothing chosen: named next to the question, in Arabic
    assert browser.find_element("id", "e-reason").text == "خطأ: هذا السؤال إجباري."
    assert_phone_ready(browser, "ar")
    assert browser.save_screenshot(str(ARTIFACTS / "previsit-form-ar.png"))
    status, saved = stack.api(clinic).get(f"/v1/appointments/{appointment_id}/questionnaire-response")
    assert (status, saved["status"], saved["item"][0]["answer"]) == (200, "in-progress", [{"valueBoolean": False}])
