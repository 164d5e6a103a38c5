"""The local outbox as a person trying CareCue opens it in a browser: every message sent, shown as text."""

from __future__ import annotations

import html

from tests.e2e.conftest import NEW_YORK, LocalStack, day_after, spoken


def test_the_outbox_page_shows_the_message_sent_html_escaped(stack: LocalStack) -> None:
    # GIVEN a clinic whose name has characters HTML gives meaning to
    clinic = stack.create_clinic("O'Brien & Daughters <Family> Clinic", NEW_YORK)
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    stack.book_for(clinic, {"patient": {"name": "Pat Example", "phone": "+14155550107"}, "start": start.isoformat()})
    body = f"O'Brien & Daughters <Family> Clinic: your appointment is booked for {spoken(start, NEW_YORK)}."
    assert [m["body"] for m in stack.outbox("+14155550107")] == [body]

    # WHEN the outbox is opened in a browser
    status, content_type, page = stack.local.raw("GET", "/_local/outbox", headers={"Accept": "text/html"})

    # THEN the page shows the message as text: escaped, so the browser neither drops nor interprets any of it
    assert status == 200
    assert content_type.startswith("text/html")
    assert html.escape(body) in page
    assert "O&#x27;Brien &amp; Daughters &lt;Family&gt; Clinic" in page
    assert "<Family>" not in page
