"""Process helpers for the bench: CPU and memory from /proc, children that die with us."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from dataclasses import dataclass

_PR_SET_PDEATHSIG = 1
_TICKS = os.sysconf("SC_CLK_TCK")


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send `sig` to this process when its parent dies, so a bench that is
    killed (even with SIGKILL) leaves no server or client behind."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)


def child_setup() -> None:
    """preexec_fn of the bench's subprocesses: die with the bench, and take SIGINT again even
    when the bench was started in the background (where the shell ignores it, and an ignored
    signal stays ignored across exec): that is how the dashboard is asked to stop."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system, every thread of the process
    rss_bytes: int


def usage(pid: int) -> Usage:
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces: split after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
                break
    return Usage((utime + stime) / _TICKS, rss)


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes], *,
         first: int = signal.SIGINT, wait: float = 15.0) -> None:
    """Stop a child: `first` (SIGINT lets daphne and cProfile finish), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(first)
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(5)
