"""The JSON shapes of `/v1/conversations`: TypedDicts its views return (mypy checks them; the OpenAPI
document's response schemas are generated from them)."""

from __future__ import annotations

from typing_extensions import TypedDict


class ConversationSummary(TypedDict):
    """One thread in the inbox: who, how many of the patient's messages the staff have not opened, the latest."""

    patient_id: str
    unread: int
    last_message_at: str
    last_direction: str  # in: the patient wrote last; out: the staff answered last
    channel: str  # where the patient last wrote from: sms | whatsapp | messenger


class ConversationList(TypedDict):
    conversations: list[ConversationSummary]
    next: str | None  # the cursor of the next page; null after the last


class MessageView(TypedDict):
    id: str
    direction: str  # in (the patient's) | out (the staff's)
    sender: str  # patient | staff
    channel: str  # sms | whatsapp | messenger: the channel it came or went by
    text: str
    at: str
    sms_segments: int | None  # an answer sent by SMS: the segments it was charged for


class ThreadView(TypedDict):
    patient_id: str
    unread: int  # 0 once opened: reading the thread marks it read
    channel: str | None  # where the patient last wrote from; null: they have not written
    messages: list[MessageView]  # newest first
    next: str | None  # the cursor of the older messages; null after the oldest


class AnswerView(TypedDict):
    patient_id: str
    message: MessageView
