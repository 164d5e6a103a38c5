"""`make bench` cannot rot: its smoke run (`python -m infra.bench --smoke`) runs every figure once, on a handful of
items, and prints each next to its target. It judges no target: a timing of one run on a shared machine means
nothing, and speed targets live in `make bench`, not in the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
FIGURES = (
    "import app / import boto3",
    "cold start: first fire / boto3 + client",
    "cold start: first booking / boto3 + client",
    "cold start: authorizer / boto3 + client",
    "AWS API calls per booking (authorizer cached)",
    "AWS API calls per sent reminder (warm)",
    "(channel fees + infrastructure) / channel fees",
    "log bytes per fire (INFO)",
    "fire time / idealised floor, same run",
    "reconciler AWS calls, 500 / 250 pending",
    "reconciler wall on AWS, 500 / 250 pending",
    "local stack RSS at 10,000 bookings, from 20 (MB)",
    "local stack SIGTERM to exit (s)",
    "failed GETs, 16 concurrent clients",
    "make bench, every figure (s)",
)


def test_the_bench_runs_every_figure_and_prints_each_next_to_its_target() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "infra.bench", "--smoke"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for figure in FIGURES:
        printed = [line for line in lines if figure in line]
        assert len(printed) == 1, (figure, done.stdout[-3000:])
        assert printed[0].startswith("SMOKE") and "target <=" in printed[0], printed[0]
    assert "memory step: 20 bookings in" in done.stdout
