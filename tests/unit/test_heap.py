"""The cold start's freeze of process-long state (`chalicelib.core.heap`) is bounded: a long-lived process that
builds compositions again and again (the tests, the local stack) stops freezing after `FREEZES`, so it does not
keep each composition's garbage cycles for good. (What the freeze saves a cold start is `make bench`'s figure.)"""

from __future__ import annotations

import gc

from chalicelib.core.heap import FREEZES, settle


def test_a_process_freezes_at_most_freezes_times_and_then_leaves_new_objects_to_the_collector() -> None:
    for _ in range(FREEZES + 1):
        settle()
    frozen = gc.get_freeze_count()

    built_later = [[index] for index in range(10_000)]  # a later composition's state: tracked containers
    settle()

    assert gc.get_freeze_count() == frozen
    assert built_later


HOLD = """
import gc, os, sys
from chalicelib.core.heap import hold_until_served, served
from chalicelib.settings import on_lambda
hold_until_served(on_lambda())
held = not gc.isenabled()
served()
after_first = gc.isenabled()
gc.disable()
served()  # a later invocation changes nothing
print(held, after_first, gc.isenabled())
"""


def _hold_in_fresh_interpreter(lambda_function: str | None) -> str:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {name: value for name, value in os.environ.items() if name != "AWS_LAMBDA_FUNCTION_NAME"}
    if lambda_function:
        env["AWS_LAMBDA_FUNCTION_NAME"] = lambda_function
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", HOLD], cwd=root, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_on_lambda_the_collector_is_off_until_the_first_invocation_is_served_and_then_on_for_good() -> None:
    assert _hold_in_fresh_interpreter("carecue-dev-fire") == "True True False"


def test_outside_lambda_nothing_is_held() -> None:
    # The tests, the local stack and the admin CLI import the app and may never invoke a handler.
    assert _hold_in_fresh_interpreter(None) == "False True False"
