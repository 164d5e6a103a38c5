"""The Graph API client (`GraphApi`) against an HTTP server on 127.0.0.1 standing in for graph.facebook.com: the
exact request CareCue sends (`POST /v20.0/{page-id}/messages`, the Page token as a Bearer header and never in the
URL, the Send API body), and how Meta's error answers become permanent or transient `ChannelError`s."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from chalicelib.core.errors import ChannelError
from chalicelib.send.messenger import GraphApi, MessengerTemplate, template_message, text_message


class Graph:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: tuple[int, dict[str, Any]] = (200, {"recipient_id": "0000000000000101", "message_id": "m_0001"})


@pytest.fixture
def graph() -> Iterator[tuple[Graph, str]]:
    state = Graph()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers["Content-Length"])
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
            )
            status, body = state.answer
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_text_is_posted_to_the_pages_messages_with_the_token_as_a_bearer_header(graph: tuple[Graph, str]) -> None:
    state, url = graph

    message_id = GraphApi(url).send("000000000000001", "test-page-token", text_message("0000000000000101", "Hola"))

    assert message_id == "m_0001"
    [request] = state.requests
    assert request["path"] == "/v20.0/000000000000001/messages"
    assert request["headers"]["Authorization"] == "Bearer test-page-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "recipient": {"id": "0000000000000101"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hola"},
    }


def test_a_utility_template_names_its_template_language_and_body_parameters() -> None:
    template = MessengerTemplate("carecue_reminder", "en_US", ("Riverside", "Wed 2 Dec", "10:00 AM"))

    assert template_message("0000000000000101", template) == {
        "recipient": {"id": "0000000000000101"},
        "messaging_type": "UTILITY",
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "utility",
                    "template_name": "carecue_reminder",
                    "language": "en_US",
                    "components": [
                        {
                            "type": "body",
                            "parameters": [
                                {"type": "text", "text": "Riverside"},
                                {"type": "text", "text": "Wed 2 Dec"},
                                {"type": "text", "text": "10:00 AM"},
                            ],
                        }
                    ],
                },
            }
        },
    }


@pytest.mark.parametrize(
    ("status", "body", "code", "permanent"),
    [
        (400, {"error": {"code": 551, "message": "This person isn't available right now"}}, "551", True),
        (400, {"error": {"code": 10, "error_subcode": 2018278}}, "10", True),
        (400, {"error": {"code": 613, "message": "Calls to this api have exceeded the rate limit"}}, "613", False),
        (500, {"error": {"code": 1, "message": "An unknown error occurred"}}, "1", False),
        (502, {}, "http_502", False),
    ],
    ids=["not available", "outside the window", "rate limit", "unknown error", "no error body"],
)
def test_metas_errors_are_permanent_or_transient_channel_errors(
    graph: tuple[Graph, str], status: int, body: dict[str, Any], code: str, permanent: bool
) -> None:
    state, url = graph
    state.answer = (status, body)

    with pytest.raises(ChannelError) as raised:
        GraphApi(url).send("000000000000001", "test-page-token", text_message("0000000000000101", "Hola"))

    assert (raised.value.code, raised.value.permanent) == (code, permanent)


def test_no_answer_is_a_transient_error() -> None:
    with pytest.raises(ChannelError) as raised:
        GraphApi("http://127.0.0.1:9").send("000000000000001", "t", text_message("0000000000000101", "Hola"))

    assert (raised.value.code, raised.value.permanent) == ("unreachable", False)
