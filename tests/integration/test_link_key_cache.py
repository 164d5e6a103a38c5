"""The patient links' signing key is read from SSM once and kept five minutes a process (`LinkSigner.key`): links
made meanwhile cost no SSM call, and after a rotation of the key the links made once those five minutes are over
are signed with the new key (a link made before still opens with the old key, which the pages no longer hold)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from chalicelib.links.service import KEY_CACHE_SECONDS, LinkSigner
from chalicelib.links.tokens import Purpose, verify
from infra.local.clock import SimulatedClock
from tests.conftest import ClinicKeys, World

APPOINTMENT = "apt_0123456789abcdef0123"


class Seconds:
    """A process clock the test moves: what `time.monotonic` would read."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def parameter_reads(aws: World) -> Iterator[list[str]]:
    made: list[str] = []

    def named(model: Any, params: dict[str, Any], **_: Any) -> None:
        made.append(f"{model.name} {params['Name']}")

    events = aws.services.ssm.meta.events
    events.register("before-parameter-build.ssm.GetParameter", named)
    try:
        yield made
    finally:
        events.unregister("before-parameter-build.ssm.GetParameter", named)


def token_of(url: str | None) -> str:
    assert url is not None
    return url.rsplit("/", 1)[1]


def test_the_key_is_read_once_and_a_rotated_key_signs_after_five_minutes(
    aws: World, clinic: ClinicKeys, clock: SimulatedClock
) -> None:
    settings = aws.services.settings
    seconds = Seconds()
    signer = LinkSigner(aws.services.ssm, settings.link_key_parameter, "https://links.example.com", seconds)
    start = clock.now() + timedelta(days=2)

    def link() -> str:
        return token_of(signer.url(Purpose.CONFIRM, clinic.clinic_id, APPOINTMENT, start))

    with parameter_reads(aws) as reads:
        first, second = link(), link()
    assert reads == [f"GetParameter {settings.link_key_parameter}"]
    old_key = signer.key()

    aws.services.ssm.put_parameter(
        Name=settings.link_key_parameter, Value="a-rotated-test-key", Type="SecureString", Overwrite=True
    )
    seconds.now += KEY_CACHE_SECONDS - 1
    still_old = link()
    seconds.now += 2
    with parameter_reads(aws) as reads:
        rotated = link()

    assert len(reads) == 1
    for token in (first, second, still_old):
        assert verify(token, old_key, clock.now()).appointment_id == APPOINTMENT
    assert verify(rotated, b"a-rotated-test-key", clock.now()).appointment_id == APPOINTMENT
    assert signer.key() == b"a-rotated-test-key"
