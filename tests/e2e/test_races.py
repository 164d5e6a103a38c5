"""Requests racing on the running local stack, from real threads: what a clinic system retrying in a hurry, or
two front-desk screens at once, would do. Repeating a change changes nothing, and no notice is lost or doubled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.conftest import NEW_YORK, Clinic, LocalStack, day_after

PHONE, EMAIL = "+14155550194", "pat.races@example.org"  # numbers no other test on the shared stack uses


def book(stack: LocalStack, clinic: Clinic, phone: str = PHONE, email: str = EMAIL) -> dict[str, Any]:
    start = day_after(stack.now(), 2, 10, 0, NEW_YORK)
    return stack.book_for(
        clinic, {"patient": {"name": "Pat Example", "phone": phone, "email": email}, "start": start.isoformat()}
    )


def at_once(count: int, call: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def notices(stack: LocalStack, word: str, *addresses: str) -> list[dict[str, Any]]:
    return [m for m in stack.outbox(*addresses) if word in (m.get("subject") or "") + m["body"]]


def test_fifty_deletes_at_once_all_answer_200_and_the_patient_is_told_once_per_channel(
    stack: LocalStack, clinic: Clinic
) -> None:
    stack.ask_for_both(clinic)  # the notices on both channels, as the test counts them per channel
    booked = book(stack, clinic)
    api = stack.api(clinic)

    answers = at_once(50, lambda: api.delete(f"/v1/appointments/{booked['id']}"))

    assert sorted({status for status, _ in answers}) == [200]
    assert {body["status"] for _, body in answers} == {"cancelled"}
    cancelled = notices(stack, "cancel", PHONE, EMAIL)
    assert sorted(m["channel"] for m in cancelled) == ["email", "sms"]
    status, shown = api.get(f"/v1/appointments/{booked['id']}")
    assert [r["id"] for r in shown["reminders"] if r["status"] == "scheduled"] == []


def test_twenty_identical_patches_at_once_move_it_once_and_the_notice_goes(stack: LocalStack, clinic: Clinic) -> None:
    stack.ask_for_both(clinic)  # the notices on both channels, as the test counts them per channel
    phone, email = "+14155550162", "pat.patches@example.org"
    booked = book(stack, clinic, phone, email)
    api = stack.api(clinic)
    moved_to = day_after(stack.now(), 3, 15, 30, NEW_YORK).isoformat()

    answers = at_once(20, lambda: api.patch(f"/v1/appointments/{booked['id']}", {"start": moved_to}))

    assert sorted({status for status, _ in answers}) == [200]
    assert {body["version"] for _, body in answers} == {2}
    moved = notices(stack, "moved", phone, email)
    assert sorted(m["channel"] for m in moved) == ["email", "sms"]


def test_a_cancel_racing_a_reschedule_ends_in_one_consistent_state(stack: LocalStack, clinic: Clinic) -> None:
    api = stack.api(clinic)
    for round_ in range(6):
        phone = f"+1415555017{round_}"
        booked = book(stack, clinic, phone, f"pat.race{round_}@example.org")
        moved_to = day_after(stack.now(), 4, 9, 0, NEW_YORK).isoformat()

        with ThreadPoolExecutor(max_workers=2) as pool:
            cancel = pool.submit(api.delete, f"/v1/appointments/{booked['id']}")
            move = pool.submit(api.patch, f"/v1/appointments/{booked['id']}", {"start": moved_to})
            cancel_answer, move_answer = cancel.result(), move.result()

        status, shown = api.get(f"/v1/appointments/{booked['id']}")
        live = [r["id"] for r in shown["reminders"] if r["status"] == "scheduled" and r["kind"] == "reminder"]
        assert cancel_answer[0] == 200
        assert shown["status"] == "cancelled"  # the cancel always wins in the end: it retries a lost race
        assert live == []
        assert move_answer[0] in (200, 409)
        assert len(notices(stack, "cancel", phone)) == 1
