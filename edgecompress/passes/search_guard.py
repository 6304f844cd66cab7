"""A time and memory bound on torch-pruning's dependency-graph search.

On structures it cannot group (attention blocks, shared end-to-end heads) the search has run for
minutes and grown to 11-24 GB before the kernel killed it. Inside :func:`bounded_search` a watchdog
thread checks the elapsed time and the growth of the process's resident memory every quarter second;
past a limit it interrupts the main thread (``_thread.interrupt_main``: no OS signal, no timer, so
pytest-timeout's alarm and the C libraries' system calls are left alone), and the interrupt becomes a
:class:`~edgecompress.errors.StageFailed` naming the limit. The search is Python code, so the
interrupt lands between its steps. A real Ctrl-C still propagates as KeyboardInterrupt. Outside the
main thread the block runs unbounded.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import resource
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
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _breach(started: float, start_rss: int, seconds: float, memory_gb: float) -> str | None:
    if time.monotonic() - started > seconds:
        return f"ran past {seconds:g} s"
    grown = resident_bytes() - start_rss
    if grown > memory_gb * 2**30:
        return f"grew memory by {grown / 2**30:.1f} GB (limit {memory_gb:g} GB)"
    return None


def _take_pending_interrupt() -> None:
    """Swallow an interrupt the watchdog raised just as the block was finishing."""
    with contextlib.suppress(KeyboardInterrupt):
        for _ in range(100_000):
            pass


@contextlib.contextmanager
def bounded_search(seconds: float, memory_gb: float, what: str) -> Iterator[None]:
    """Run the block; StageFailed once it passes ``seconds`` or grows memory by ``memory_gb``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    started, start_rss = time.monotonic(), resident_bytes()
    breach: list[str] = []
    done, lock = threading.Event(), threading.Lock()

    def watch() -> None:
        while not done.wait(CHECK_EVERY_S):
            reason = _breach(started, start_rss, seconds, memory_gb)
            if reason:
                with lock:
                    if not done.is_set():
                        breach.append(reason)
                        _thread.interrupt_main()
                return

    watcher = threading.Thread(target=watch, name="search-guard", daemon=True)
    watcher.start()
    try:
        try:
            yield
        finally:
            with lock:
                done.set()
            watcher.join()
            if breach:
                _take_pending_interrupt()
    except KeyboardInterrupt:
        if breach:
            raise StageFailed(f"{what} {breach[0]}", GUARD_HINT) from None
        raise
    if breach:
        raise StageFailed(f"{what} {breach[0]}", GUARD_HINT)
