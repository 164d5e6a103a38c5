"""How the local stack keeps the C allocator from holding memory its objects no longer use (glibc only).

What was left of the local stack's growth after moto's leaks were closed (docs/reliability.md, "Memory and
shutdown") was not objects that stay alive: the object counts stay flat while the resident memory grew by about
100 KB a booking. Two habits of glibc's malloc keep freed memory resident, and the stack triggers both:

- **One arena per thread, up to eight per core.** Both HTTP servers answer each request on a thread of its own, so
  the transient copies moto makes of every query and scan result, and the snapshots' pickles, are freed into
  many arenas, each of which keeps its own free memory. `limit_arenas` caps them at `ARENAS` (glibc's
  `M_ARENA_MAX`, what the `MALLOC_ARENA_MAX` environment variable sets), before the stack starts a thread.
- **Freed memory inside a heap is only given back from its top.** `trim` (`malloc_trim(0)`) returns every free page
  of every arena to the kernel; the stack calls it after each snapshot, the largest transient allocation it makes.

Elsewhere (another C library, no `libc.so.6`) both do nothing: the stack works the same, only without this help.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


@functools.cache
def _glibc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - glibc has both; another libc.so.6 may not
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Caps malloc's arenas (for threads started from now on): True if the C library took it."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, arenas) == 1)


def trim() -> bool:
    """Gives the free memory of every arena back to the kernel: True if some was."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
