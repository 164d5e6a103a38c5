"""The waiting room end to end on the running local stack, with its simulated clock and Scheduler emulator: a
morning with four patients and one long visit, the texts they get, and the board page in real headless
Chromium (Debian's `chromium` and `chromium-driver`, driven by Selenium), with a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import REPO_ROOT, Clinic, LocalStack, day_after

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = REPO_ROOT / "test-artifacts"
NAMES = {"A": "Alex Example", "B": "Blake Sample", "C": "Casey Example", "D": "Drew Sample", "E": "Ari Exampleton"}
PHONES = {"A": "+14155550121", "B": "+14155550122", "C": "+14155550123", "D": "+14155550124", "E": "+14155550125"}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and shutil.which(CHROMEDRIVER)):
        pytest.skip(f"no headless browser: {CHROMIUM} or {CHROMEDRIVER} missing (make browser installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Morning:
    def __init__(self, stack: LocalStack, clinic: Clinic) -> None:
        self.stack, self.clinic = stack, clinic
        self.api = stack.api(clinic)
        self.day = day_after(stack.now(), 1, 0, 0, clinic.timezone)

    def at(self, hhmm: str) -> datetime:
        hour, minute = (int(part) for part in hhmm.split(":"))
        return self.day.replace(hour=hour, minute=minute)

    def book(self, who: str, hhmm: str) -> str:
        body = {
            "patient": {"name": NAMES[who], "phone": PHONES[who]},
            "start": self.at(hhmm).isoformat(),
            "provider": "Dr. Rivera",
        }
        return str(self.stack.book_for(self.clinic, body)["id"])

    def go_to(self, hhmm: str) -> None:
        self.stack.advance_to(self.at(hhmm))

    def move(self, appointment_id: str, move: str) -> tuple[int, Any]:
        return self.api.post(f"/v1/appointments/{appointment_id}/{move}", None)

    def texts(self, who: str) -> list[str]:
        bodies = [m["body"] for m in self.stack.outbox(PHONES[who])]
        return [b for b in bodies if "booked for" not in b and "reminder of your appointment" not in b]


def test_a_morning_with_four_patients_and_one_long_visit(stack: LocalStack, clinic: Clinic) -> None:
    morning = Morning(stack, clinic)
    morning.go_to("08:00")
    a, b, c, d = (morning.book(w, t) for w, t in zip("ABCD", ("09:30", "10:00", "10:30", "11:00"), strict=True))

    morning.go_to("09:25")
    assert morning.move(a, "check-in")[0] == 200
    assert morning.texts("A") == [f"{clinic.name}: you are checked in. Your wait is about 5 min."]
    morning.go_to("09:30")
    assert morning.move(a, "start")[1]["status"] == "in-progress"
    morning.go_to("09:55")
    morning.move(b, "check-in")
    assert morning.texts("B") == [f"{clinic.name}: you are checked in. You're next."]

    # The running-late watch, fired by the stack's Scheduler emulator, notices the lag passing 15 minutes
    morning.go_to("10:10")
    late = f"{clinic.name}: Dr. Rivera is running about 20 min late today. "
    late += "Please still arrive on time unless we tell you otherwise."
    assert morning.texts("C") == [late] and morning.texts("D") == [late]
    assert len(morning.texts("A")) == 1 and len(morning.texts("B")) == 1  # no running-late text once here

    morning.go_to("10:25")
    morning.move(c, "check-in")
    assert morning.texts("C")[-1] == f"{clinic.name}: you are checked in. Your wait is about 40 min."
    # D, still at home, hears of the 30-minute step, and that is D's second and last running-late text
    morning.go_to("10:40")
    assert len(morning.texts("D")) == 2 and "running about 35 min late" in morning.texts("D")[1]

    status, queue = morning.api.get(f"/v1/queue?provider={quote('Dr. Rivera')}&date={morning.day.date().isoformat()}")
    assert status == 200
    (rivera,) = queue["providers"]
    assert rivera["now_seeing"] == a
    assert [(r["id"], r["status"]) for r in rivera["appointments"]] == [
        (a, "in-progress"),
        (b, "arrived"),
        (c, "arrived"),
        (d, "booked"),
    ]
    assert [r.get("ahead") for r in rivera["appointments"]] == [None, 0, 1, None]

    # The board's content, as the waiting-room screen gets it
    status, link = morning.api.post("/v1/board-link", None)
    assert status == 201
    status, content_type, page = stack.local.raw("GET", link["path"])
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert "Now seeing: A.E." in page and ">B.S.<" in page and ">C.E.<" in page and ">D.S.<" not in page
    assert not any(part in page for name in NAMES.values() for part in name.split())

    # A finishes at 10:45 and B is called in: C is next
    morning.go_to("10:45")
    morning.move(a, "finish")
    morning.move(b, "start")
    assert morning.texts("C")[-1] == f"{clinic.name}: you're next. Please stay in the waiting room."
    morning.go_to("11:15")
    assert len(morning.texts("D")) == 2

    # Revoked, the link shows nothing
    assert morning.api.delete("/v1/board-link")[0] == 204
    status, _, page = stack.local.raw("GET", link["path"])
    assert status == 404 and "B.S." not in page


def test_the_board_in_a_real_browser(stack: LocalStack, clinic: Clinic, browser: Any) -> None:
    morning = Morning(stack, clinic)
    morning.go_to("08:00")
    a, b, c = (morning.book(w, t) for w, t in zip("ABC", ("09:00", "09:30", "10:00"), strict=True))
    morning.go_to("08:55")
    for appointment in (a, b, c):
        morning.move(appointment, "check-in")
    morning.go_to("09:00")
    morning.move(a, "start")
    status, link = morning.api.post("/v1/board-link", None)
    assert status == 201

    browser.get(stack.api_url + link["path"])
    assert browser.title == f"{clinic.name}: waiting room"
    body = browser.find_element("tag name", "body").text
    assert "Dr. Rivera" in body and "Now seeing: A.E." in body and "Updated 9:00 AM" in body
    assert [li.text for li in browser.find_elements("css selector", "ol.queue li")] == [
        "B.S. about 30 min",
        "C.E. about 60 min",
    ]
    assert not any(part in browser.page_source for name in NAMES.values() for part in name.split())
    assert browser.find_element("css selector", 'meta[http-equiv="refresh"]').get_attribute("content") == "30"
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "waiting-room-board.png"))

    # The screen shows the next state after a reload, as its meta refresh does every 30 seconds
    morning.go_to("09:40")
    morning.move(a, "finish")
    morning.move(b, "start")
    browser.refresh()
    assert "Now seeing: B.S." in browser.find_element("tag name", "body").text
    assert [li.text for li in browser.find_elements("css selector", "ol.queue li")] == ["C.E. about 30 min"]


def test_the_board_fills_a_tv_and_fits_a_phone_and_never_shows_two_patients_alike(
    stack: LocalStack, clinic: Clinic, browser: Any
) -> None:
    # GIVEN two patients with the same initials (A.E.) waiting, and one being seen
    morning = Morning(stack, clinic)
    morning.go_to("08:00")
    b, a, e = (morning.book(w, t) for w, t in zip("BAE", ("09:00", "09:30", "10:00"), strict=True))
    morning.go_to("08:50")
    morning.move(b, "check-in")
    morning.go_to("08:55")
    morning.move(a, "check-in")
    morning.go_to("08:56")
    morning.move(e, "check-in")
    morning.go_to("09:00")
    morning.move(b, "start")
    link = morning.api.post("/v1/board-link", None)[1]
    ARTIFACTS.mkdir(exist_ok=True)

    # WHEN the board is shown on a 1920x1080 waiting-room TV
    browser.set_window_size(1920, 1080)
    browser.get(stack.api_url + link["path"])

    # THEN the two A.E. carry their ticket numbers (the order they arrived), and the board fills the screen
    queue = [li.text for li in browser.find_elements("css selector", "ol.queue li")]
    assert queue == ["A.E. no. 2 about 30 min", "A.E. no. 3 about 60 min"]
    assert "Now seeing: B.S." in browser.find_element("tag name", "body").text
    width = browser.execute_script("return document.querySelector('.providers').getBoundingClientRect().width")
    inner = browser.execute_script("return window.innerWidth")
    assert width > 0.9 * inner
    text_px = browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('ol.queue li')).fontSize)"
    )
    assert text_px >= 32  # readable across a waiting room
    assert browser.save_screenshot(str(ARTIFACTS / "waiting-room-board-tv.png"))

    # AND on a phone it fits the width with no sideways scrolling and text no smaller than 16 px
    browser.set_window_size(390, 844)
    browser.refresh()
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    text_px = browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('ol.queue li')).fontSize)"
    )
    assert text_px >= 16
    assert browser.save_screenshot(str(ARTIFACTS / "waiting-room-board-phone.png"))

    # AND a clinic that prefers ticket numbers shows numbers only, the same ones
    assert morning.api.request("PUT", "/v1/clinic", {"board_labels": "tickets"})[0] == 200
    browser.refresh()
    assert [li.text for li in browser.find_elements("css selector", "ol.queue li")] == [
        "no. 2 about 30 min",
        "no. 3 about 60 min",
    ]
    assert "Now seeing: no. 1" in browser.find_element("tag name", "body").text
    assert "A.E." not in browser.page_source
