"""Run a timing command with every other Python process paused (SIGSTOP), then resume them.

On this 2-core VM a background training takes a core, and ``nice`` does not give it back (autogroup
scheduling gives each session an equal share). The ladder's timings were therefore taken with the
other processes stopped. Processes started meanwhile are caught by a re-check every ``--every``
seconds (polling every 0.5 s disturbed the timings itself). Every process paused is resumed at the
end, also when the command fails or is interrupted.

    python bench/quiet.py -- python bench/pcb_ladder.py ...
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path


def own_tree(root: int) -> set[int]:
    """``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, []))
    return tree


def ancestors(pid: int) -> set[int]:
    """``pid``'s parent, its parent, and so on up to init."""
    chain = set()
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        chain.add(pid)
    return chain


def others(keep: set[int], names: tuple[str, ...]) -> list[int]:
    """Processes whose command line mentions one of ``names``, outside ``keep``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        pid = int(cmdline.parent.name)
        if pid in keep:
            continue
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(name in command for name in names):
            found.append(pid)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=5.0, help="seconds between re-checks")
    parser.add_argument("--names", default="python,edgecompress", help="comma-separated command-line words")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    names = tuple(args.names.split(","))
    paused: set[int] = set()
    child = subprocess.Popen(command)
    try:
        while child.poll() is None:
            # the scan first, the tree after it: a process the command forks between the two is in
            # the tree (taken the other way round it was paused, and its parent waited for ever)
            candidates = others(paused, names)
            # the shells above this one, not their other children: a job started beside this one (or
            # re-parented to init, as `nohup ... &` jobs are) is paused too
            keep = own_tree(os.getpid()) | ancestors(os.getpid())
            for pid in (pid for pid in candidates if pid not in keep):
                try:
                    os.kill(pid, signal.SIGSTOP)
                    paused.add(pid)
                except ProcessLookupError:
                    pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=args.every)
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait()
        for pid in paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        print(f"quiet: {len(paused)} processes paused and resumed", file=sys.stderr)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
