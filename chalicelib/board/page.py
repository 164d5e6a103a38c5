"""The waiting-room board: a read-only HTML page a screen in the waiting room shows, refreshing itself.

Per provider: who is being seen and the queue of checked-in patients with their estimated waits. Patients
appear by initials only ("P.E."), never by name: the screen is in a public room. The page is plain HTML with
a meta refresh, no script, so any browser a clinic's screen has can show it. Pure: it renders what it is given.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from msgspec import Struct

from chalicelib.render.templates import twelve_hour

REFRESH_SECONDS = 30


class BoardPatient(Struct, frozen=True):
    initials: str
    wait_minutes: int | None = None  # rounded to 5; None for the patient being seen


class BoardProvider(Struct, frozen=True):
    name: str
    now_seeing: BoardPatient | None
    waiting: Sequence[BoardPatient]


def initials(name: str) -> str:
    """`Pat Example` -> `P.E.`: the first letter of the first and the last word, ASCII letters only."""
    words = ["".join(c for c in word if c.isascii() and c.isalpha()) for word in name.split()]
    letters = [w[0].upper() for w in words if w]
    if not letters:
        return "?"
    picked = letters if len(letters) == 1 else [letters[0], letters[-1]]
    return "".join(f"{letter}." for letter in picked)


def render_board(clinic_name: str, local_now: datetime, providers: Sequence[BoardProvider]) -> str:
    sections = "\n".join(_provider(p) for p in providers) or '<p class="empty">No one is waiting.</p>'
    clock = twelve_hour(local_now)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{html.escape(clinic_name)}: waiting room</title>
<style>
/* One rem follows the screen: about 27 px on a 1920x1080 TV, read from across the room; never under 16 px on a
   phone. The providers share the whole width, as many columns as fit. */
html {{ font-size: clamp(16px, calc(0.9vw + 0.9vh), 48px); }}
body {{ font-family: sans-serif; margin: 0; padding: 3vh 3vw; min-height: 100vh; box-sizing: border-box;
  background: #f6f7f9; color: #1b1f24; }}
h1 {{ font-size: 2.25rem; margin: 0 0 .25rem; }}
.updated {{ color: #4a4f55; margin: 0 0 1.5rem; }}
.providers {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); gap: 1.5rem; }}
section {{ background: #fff; border-radius: .75rem; padding: 1rem 1.5rem; }}
h2 {{ font-size: 1.6rem; margin: 0 0 .5rem; }}
.now-seeing {{ font-size: 1.35rem; margin: 0 0 .75rem; }}
ol {{ font-size: 1.35rem; padding-left: 1.75rem; margin: 0; }}
li {{ margin: .35rem 0; }}
.wait {{ color: #4a4f55; }}
.empty {{ font-size: 1.5rem; }}
</style>
</head>
<body>
<h1>{html.escape(clinic_name)}</h1>
<p class="updated">Updated {clock}. Waits are estimates.</p>
<div class="providers">
{sections}
</div>
</body>
</html>
"""


def _provider(provider: BoardProvider) -> str:
    seeing = provider.now_seeing.initials if provider.now_seeing is not None else "no one"
    rows = "\n".join(
        f'<li><span class="who">{html.escape(p.initials)}</span> <span class="wait">{_wait(p.wait_minutes)}</span></li>'
        for p in provider.waiting
    )
    queue = f'<ol class="queue">\n{rows}\n</ol>' if rows else '<p class="queue">No one waiting.</p>'
    return (
        f'<section class="provider">\n<h2>{html.escape(provider.name)}</h2>\n'
        f'<p class="now-seeing">Now seeing: {html.escape(seeing)}</p>\n{queue}\n</section>'
    )


def _wait(minutes: int | None) -> str:
    return "next" if minutes is None else f"about {minutes} min"
