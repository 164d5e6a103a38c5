"""What the local console shows of a recipient and of a message body: masked addresses, escaped text, links."""

from __future__ import annotations

from infra.local.console import linked, mask

DOT = "\u2022"


def test_recipients_keep_only_enough_to_tell_them_apart() -> None:
    assert mask("+14155550101") == f"+1 415 {DOT * 3} {DOT * 2}01"
    assert mask("+447700900123") == f"+44 {DOT * 3} {DOT * 2}23"
    assert mask("pat@example.org") == f"p{DOT * 2}@example.org"
    assert mask("pat@example.org, sam@example.com") == f"p{DOT * 2}@example.org, s{DOT * 2}@example.com"


def test_a_body_is_escaped_and_only_its_web_addresses_become_links() -> None:
    body = "Riverside <Clinic> & co: confirm: http://127.0.0.1:8000/p/abc_D-1. Reply STOP"
    assert linked(body) == (
        "Riverside &lt;Clinic&gt; &amp; co: confirm: "
        '<a href="http://127.0.0.1:8000/p/abc_D-1">http://127.0.0.1:8000/p/abc_D-1</a>. Reply STOP'
    )
    assert linked("javascript:alert(1) <a href=x>") == "javascript:alert(1) &lt;a href=x&gt;"
