"""An appointment's day-of-visit status moves, FHIR style: `booked` -> `arrived` (checked in) ->
`in-progress` (called in) -> `fulfilled` (finished), or `booked`/`arrived` -> `noshow`. Pure: which move is
allowed from which status, and why not.

Repeating a move that already happened (a second "HERE" text, a double click at the front desk) is allowed
and changes nothing. A patient called in without checking in (`booked` -> `in-progress`) is allowed: the
front desk does not always check in a patient who walks straight to the room.
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.core.words import AppointmentStatus, ClosedBy


class Move(StrEnum):
    CHECK_IN = "check-in"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no-show"


BOOKED, ARRIVED, IN_PROGRESS, FULFILLED, NOSHOW, CANCELLED = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.FULFILLED,
    AppointmentStatus.NOSHOW,
    AppointmentStatus.CANCELLED,
)

# The status each move leads to, and the statuses it may start from.
TARGET = {Move.CHECK_IN: ARRIVED, Move.START: IN_PROGRESS, Move.FINISH: FULFILLED, Move.NO_SHOW: NOSHOW}
ALLOWED_FROM = {
    Move.CHECK_IN: {BOOKED},
    Move.START: {BOOKED, ARRIVED},
    Move.FINISH: {IN_PROGRESS},
    Move.NO_SHOW: {BOOKED, ARRIVED},
}


# Closing time: what a visit still open becomes, and the marker it carries so that an admin can tell it (and
# correct it) from a visit the front desk closed. A visit in progress was most likely finished and not recorded;
# a patient still waiting was not seen that day.
DAY_CLOSE = ClosedBy.DAY_CLOSE
DAY_CLOSE_TARGET: dict[str, AppointmentStatus] = {IN_PROGRESS: FULFILLED, ARRIVED: NOSHOW}


class IllegalMove(ValueError):
    """The move is not allowed from the appointment's status; the message says why, for the front desk."""


def check_move(move: Move, status: str) -> bool:
    """True if `move` changes the appointment, False if it already happened; raises IllegalMove otherwise."""
    if status == TARGET[move]:
        return False
    if status in ALLOWED_FROM[move]:
        return True
    raise IllegalMove(_reason(move, status))


def _reason(move: Move, status: str) -> str:
    if status == CANCELLED:
        return f"the appointment is cancelled; it cannot {_verb(move)}"
    if move is Move.FINISH and status in (BOOKED, ARRIVED):
        return f"the appointment is {status}; it must be started before it can be finished"
    return f"the appointment is {status}; it cannot {_verb(move)}"


def _verb(move: Move) -> str:
    return {
        Move.CHECK_IN: "be checked in",
        Move.START: "be started",
        Move.FINISH: "be finished",
        Move.NO_SHOW: "be marked a no-show",
    }[move]
