"""A time and memory bound on torch-pruning's dependency-graph search.

On structures it cannot group (attention blocks, shared end-to-end heads) the search has run for
minutes and grown to 11-24 GB before the kernel killed it. Inside :func:`bounded_search` a SIGALRM
every quarter second checks the elapsed time and the growth of the process's resident memory and
raises :class:`~edgecompress.errors.StageFailed` with the limit that was passed. The search is
Python code, so the check runs between its steps. Outside the main thread (no signals there) the
block runs unbounded. A timer set before (pytest-timeout's) is resumed with its remaining time.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from edgecompress.errors import StageFailed

CHECK_EVERY_S = 0.25
GUARD_HINT = (
    "a module torch-pruning cannot group; raise bn_prune's search_seconds / search_memory_gb if the "
    "model is simply large, otherwise report its YAML"
)


def resident_bytes() -> int:
    """This process's resident memory now (Linux /proc), else its peak so far."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        import os

        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def bounded_search(seconds: float, memory_gb: float, what: str) -> Iterator[None]:
    """Run the block; StageFailed once it passes ``seconds`` or grows memory by ``memory_gb``."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    started, start_rss = time.monotonic(), resident_bytes()

    def check(signum: int, frame: object) -> None:
        grown = resident_bytes() - start_rss
        if time.monotonic() - started > seconds:
            raise StageFailed(f"{what} ran past {seconds:g} s", GUARD_HINT)
        if grown > memory_gb * 2**30:
            raise StageFailed(
                f"{what} grew memory by {grown / 2**30:.1f} GB (limit {memory_gb:g} GB)", GUARD_HINT
            )

    previous_handler = signal.signal(signal.SIGALRM, check)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, CHECK_EVERY_S, CHECK_EVERY_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:  # resume the earlier timer with what was left of it
            left = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), previous_interval)
