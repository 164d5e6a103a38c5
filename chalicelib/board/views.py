"""The JSON shape of `POST /v1/board-link`: a TypedDict (the OpenAPI document's response schema is generated
from it)."""

from __future__ import annotations

from typing_extensions import TypedDict


class BoardLinkView(TypedDict):
    """The board's new token (the previous one stops working) and its path, `/board/{token}`."""

    token: str
    path: str


def board_link_view(token: str) -> BoardLinkView:
    return {"token": token, "path": f"/board/{token}"}
