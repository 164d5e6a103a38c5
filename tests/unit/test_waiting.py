"""The day of the visit without AWS: status moves, the wait estimator, the waiting-room texts, the board's
initials and page, and the back-test of the estimator on simulated days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.arm.envelope import parse_timer_event
from chalicelib.board.page import BoardPatient, BoardProvider, initials, render_board
from chalicelib.plan.quiet_hours import DEFAULT_QUIET_HOURS
from chalicelib.visits.status import IllegalMove, Move, check_move
from chalicelib.waiting.estimator import (
    QueuedVisit,
    VisitInProgress,
    estimate_waits,
    learned_ratio,
    provider_lag,
    visit_ratio,
)
from chalicelib.waiting.notices import (
    WaitText,
    WaitTold,
    late_step,
    late_text,
    late_text_due,
    rounded_minutes,
    wait_text_due,
)
from chalicelib.waiting.watch import WatchEvent, next_slot, watch_name, watch_slot
from tests.waiting.simulation import backtest

T9 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 9:00 in New York


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_status_moves_follow_fhir_and_repeat_harmlessly() -> None:
    assert check_move(Move.CHECK_IN, "booked") is True
    assert check_move(Move.CHECK_IN, "arrived") is False
    assert check_move(Move.START, "arrived") is True
    assert check_move(Move.FINISH, "in-progress") is True
    assert check_move(Move.NO_SHOW, "booked") is True
    with pytest.raises(IllegalMove, match="must be started before it can be finished"):
        check_move(Move.FINISH, "arrived")
    with pytest.raises(IllegalMove, match="cancelled; it cannot be checked in"):
        check_move(Move.CHECK_IN, "cancelled")
    with pytest.raises(IllegalMove, match="fulfilled; it cannot be marked a no-show"):
        check_move(Move.NO_SHOW, "fulfilled")


def test_the_learned_ratio_starts_at_the_booked_duration_and_resists_one_freak_visit() -> None:
    assert learned_ratio([]) == 1.0
    steady = [1.5] * 10
    assert learned_ratio(steady) == pytest.approx((3 + 15) / 13)
    assert learned_ratio([*steady, 4.0]) == pytest.approx(learned_ratio([*steady, 1.5]), abs=0.01)
    assert learned_ratio([1.0] * 40 + [2.0] * 30) == pytest.approx((3 + 60) / 33)  # the last 30 only
    assert visit_ratio(T9, T9 + minutes(45), 30) == 1.5
    assert visit_ratio(T9, T9 + minutes(300), 30) is None  # a forgotten finish teaches nothing


def test_waits_follow_the_queue_the_visit_in_progress_and_booked_starts() -> None:
    in_progress = VisitInProgress("a", T9, 30)
    queue = [
        QueuedVisit("c", T9 + minutes(60), 30, T9),
        QueuedVisit("b", T9 + minutes(30), 30, T9),
        QueuedVisit("home", T9 + minutes(45), 15, None),
    ]
    now = T9 + minutes(10)
    b, c = estimate_waits(now, in_progress, queue, 1.0)
    assert (b.appointment_id, b.called_at, b.wait, b.ahead) == ("b", T9 + minutes(30), minutes(20), 0)
    # C is not called before the slot at 10:00, though the provider is free at 9:30 + 30 = 10:00 anyway
    assert (c.appointment_id, c.called_at, c.ahead) == ("c", T9 + minutes(60), 1)
    # A slower provider (ratio 1.5) pushes both back
    slow_b, slow_c = estimate_waits(now, in_progress, queue, 1.5)
    assert slow_b.called_at == T9 + minutes(45) and slow_c.called_at == T9 + minutes(90)
    # A visit that has overrun is expected to need a quarter of its learned length more
    (late_b, _) = estimate_waits(T9 + minutes(50), in_progress, queue, 1.0)
    assert late_b.called_at == T9 + minutes(57.5)


def test_lag_is_the_next_patients_delay_and_not_the_late_patients() -> None:
    in_progress = VisitInProgress("a", T9, 30)
    at_home = [QueuedVisit("b", T9 + minutes(30), 30, None)]
    assert provider_lag(T9 + minutes(40), in_progress, at_home, 1.0) == timedelta(0)  # B's slot has passed
    assert provider_lag(T9 + minutes(25), in_progress, at_home, 1.0) == minutes(2.5)
    assert provider_lag(T9 + minutes(50), None, at_home, 1.0) == timedelta(0)  # idle: B is late, not the provider
    waiting = [QueuedVisit("b", T9 + minutes(30), 30, T9)]
    assert provider_lag(T9 + minutes(50), in_progress, waiting, 1.0) == minutes(27.5)


def test_wait_texts_check_in_once_update_once_and_say_next_once() -> None:
    now = T9
    first = wait_text_due(WaitTold(), now, now + minutes(23), 1, True)
    assert first is not None and (first.text, first.minutes, first.next) == (WaitText.CHECK_IN, 25, False)
    told = WaitTold(promised_at=now + minutes(25))
    assert wait_text_due(told, now + minutes(5), now + minutes(34), 1, True) is None  # 9 minutes later: no update
    update = wait_text_due(told, now + minutes(5), now + minutes(35), 1, True)
    assert update is not None and (update.text, update.minutes) == (WaitText.UPDATE, 30)
    updated = WaitTold(promised_at=now + minutes(35), updates=1)
    assert wait_text_due(updated, now + minutes(10), now + minutes(60), 1, True) is None
    nxt = wait_text_due(updated, now + minutes(10), now + minutes(60), 0, True)
    assert nxt is not None and nxt.text is WaitText.NEXT
    assert wait_text_due(WaitTold(now, 0, True), now, now + minutes(90), 0, True) is None
    at_once = wait_text_due(WaitTold(), now, now + minutes(3), 0, True)
    assert at_once is not None and at_once.next and at_once.minutes == 5


def test_rounding_and_running_late_steps() -> None:
    assert [rounded_minutes(minutes(m)) for m in (0, 7.4, 7.5, 12.5, 41)] == [5, 5, 10, 15, 40]
    assert [late_step(minutes(m)) for m in (10, 14.9, 15, 29, 30, 47)] == [0, 0, 1, 1, 2, 3]
    assert late_step(minutes(25), threshold=minutes(30)) == 0
    assert late_text_due(1, 0, 0, quiet_now=False)
    assert not late_text_due(1, 1, 1, quiet_now=False)  # same step: already told
    assert not late_text_due(3, 2, 2, quiet_now=False)  # two a day at most
    assert not late_text_due(1, 0, 0, quiet_now=True)  # never in the clinic's quiet hours
    # The clinic's default quiet hours, 21:00-08:00 in the patient's zone:
    new_york = "America/New_York"
    assert DEFAULT_QUIET_HOURS.contains(datetime(2026, 12, 2, 2, 0, tzinfo=UTC), new_york)  # 21:00 the day before
    assert not DEFAULT_QUIET_HOURS.contains(datetime(2026, 12, 1, 13, 0, tzinfo=UTC), new_york)  # 08:00
    text = late_text("Riverside Family Clinic", None, minutes(22))
    assert text.startswith("Riverside Family Clinic: Your provider is running about 20 min late today.")
    assert text.isascii()


def test_the_board_shows_initials_never_names() -> None:
    assert [initials(n) for n in ("Pat Example", "Pat Q. Example-Smith", "Zoë", "  ")] == ["P.E.", "P.E.", "Z.", "?"]
    page = render_board(
        "Riverside <Clinic>",
        datetime(2026, 12, 1, 10, 5),
        [BoardProvider("Dr. Rivera", BoardPatient("P.E."), [BoardPatient("S.E.", 15)])],
    )
    assert '<meta http-equiv="refresh" content="30">' in page
    assert "Riverside &lt;Clinic&gt;" in page and "Updated 10:05 AM" in page
    assert "Now seeing: P.E." in page and 'S.E.</span> <span class="wait">about 15 min' in page


def test_the_backtest_beats_the_booked_time_by_a_wide_margin() -> None:
    report = backtest(seed=8, days=20, pace=1.0)
    assert report.check_ins > 250
    assert report.median_abs_error_minutes < 8
    assert report.median_abs_error_minutes < report.naive_median_abs_error_minutes / 2


def test_the_running_late_watch_fires_on_five_minute_slots_named_without_the_provider() -> None:
    assert next_slot(datetime(2026, 12, 1, 14, 2, 30, tzinfo=UTC)) == datetime(2026, 12, 1, 14, 10, tzinfo=UTC)
    assert next_slot(datetime(2026, 12, 1, 14, 5, tzinfo=UTC)) == datetime(2026, 12, 1, 14, 10, tzinfo=UTC)
    name = watch_name("cln_0123456789ab", "Dr. Rivera", datetime(2026, 12, 1, 14, 10, tzinfo=UTC))
    assert name.startswith("wait.cln_0123456789ab.") and name.endswith(".202612011410") and "Rivera" not in name
    assert len(name) <= 64
    event = {
        "kind": "wait-watch",
        "clinic_id": "cln_1",
        "provider": "Dr. Rivera",
        "scheduled_time": "2026-12-01T14:10:00Z",
    }
    # The shape watches carried before the envelope (`chalicelib.arm.envelope`), read for one release.
    assert parse_timer_event(event) == WatchEvent("cln_1", "Dr. Rivera", datetime(2026, 12, 1, 14, 10, tzinfo=UTC))
    reminder = {"clinic_id": "cln_1", "owner_id": "apt_1", "reminder_id": "reminder-2h.sms", "version": 1}
    assert not isinstance(parse_timer_event({**reminder, "scheduled_time": "2026-12-01T14:10:00Z"}), WatchEvent)
    with pytest.raises(ValueError):
        parse_timer_event({"kind": "wait-watch", "clinic_id": "cln_1", "provider": 3, "scheduled_time": "x"})


def test_the_watch_runs_only_inside_opening_hours_and_its_last_slot_is_closing_time() -> None:
    opens, closes = datetime(2026, 12, 1, 13, 0, tzinfo=UTC), datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert watch_slot(datetime(2026, 12, 1, 12, 30, tzinfo=UTC), opens, closes) == opens  # a check-in before opening
    assert watch_slot(datetime(2026, 12, 1, 14, 2, tzinfo=UTC), opens, closes) == datetime(
        2026, 12, 1, 14, 10, tzinfo=UTC
    )
    assert watch_slot(datetime(2026, 12, 1, 22, 57, tzinfo=UTC), opens, closes) == closes
    assert watch_slot(closes, opens, closes) is None
    assert watch_slot(datetime(2026, 12, 2, 4, 0, tzinfo=UTC), opens, closes) is None
    # Re-armed from each firing, a whole open day is a bounded number of fires however long a visit stays open.
    fires, slot = 0, watch_slot(opens, opens, closes)
    while slot is not None:
        fires += 1
        slot = watch_slot(slot, opens, closes)
    assert fires == (10 * 60) // 5
