"""`POST /v1/conversations/{patient_id}/messages` as a model of the validation kit: the staff's answer, `text`
(and optionally the client's `external_id`, which makes a retry send nothing twice),
bounded in characters and in SMS segments (counted as the SMS is sent: GSM-7 where it fits, else UCS-2), since
an answer on a chat channel may go by SMS when the chat window has closed (`chalicelib.inbox.channel`)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, WithJsonSchema

from chalicelib.core.validation import Body, Text, problem
from chalicelib.render.gsm7 import sanitise
from chalicelib.render.segments import count_segments

MAX_TEXT = 1000
MAX_SEGMENTS = 6  # 918 GSM-7 characters, 402 in UCS-2 (an emoji or a non-Latin script)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("is required: the answer's text")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise problem(f"must be at most {MAX_TEXT} characters")
    counted = count_segments(sanitise(text))
    if counted.segments > MAX_SEGMENTS:
        raise problem(
            f"is {counted.segments} SMS segments ({counted.encoding.value}); at most {MAX_SEGMENTS} "
            "(918 characters of the GSM alphabet, 402 with other characters)"
        )
    return text


class StaffAnswerBody(Body):
    """The staff's answer to a patient's thread."""

    unknown_problem: ClassVar[str | None] = "is not part of an answer (text, external_id)"
    missing_problem: ClassVar[str] = "is required: the answer's text"
    text: Annotated[
        Annotated[str, Field(min_length=1, max_length=MAX_TEXT)],
        BeforeValidator(_text),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TEXT,
                "description": f"at most {MAX_SEGMENTS} SMS segments (GSM-7, or UCS-2 for other characters)",
            }
        ),
    ]
    # The client's own id of this answer: sent again with the same id, it is not sent twice (200, the stored one).
    external_id: Text = None
