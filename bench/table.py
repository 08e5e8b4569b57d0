"""When each change happened, shared between the processes of a run through one mmap'd file.

The driver (bench/upstream.py) changes agents' statuses in a fixed cycle of `STATUSES`; for
each change it writes the time of the change (and, when the simulator pushes it to its
subscribers, the time of that push) under (agent, status). A client that sees an agent's row
turn to a status looks the times up there: no timestamp has to travel through the stack under
test, and nothing is matched after the run. An (agent, status) slot is reused when the agent
comes back to that status, `len(STATUSES) * agents / rate` seconds later (the alias window):
latencies longer than that would be misread, and the bench says so.
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path

# Statuses a supervisor may set (the simulator's SETTABLE_STATUS_IDS) that the traffic model
# never overrides once set through the API, so every change shows as a new data-status.
STATUSES: tuple[str, ...] = ("unavailable", "busy", "beRightBack", "atLunch")
STATUS_IDS: tuple[int, ...] = (3, 9, 10, 17)
STATUS_INDEX: dict[str, int] = {name: i for i, name in enumerate(STATUSES)}

# An agent's row as templates/dashboard/_agent_row.html renders it.
AGENT_ROW = re.compile(r'<tr id="agent-(\d+)"[^>]*?\sdata-status="([^"]*)"')

_DOUBLE = 8


class ChangeTable:
    """Two arrays of doubles (seconds since the epoch, 0 = never): the change, its push."""

    def __init__(self, path: Path | str, slots: int, *, create: bool = False) -> None:
        self.slots = slots
        size = 2 * slots * len(STATUSES) * _DOUBLE
        if create:
            Path(path).write_bytes(b"\0" * size)
        self._file = open(path, "r+b")  # noqa: SIM115 - held for the mapping's lifetime
        self._map = mmap.mmap(self._file.fileno(), size)
        self._doubles = memoryview(self._map).cast("d")
        half = slots * len(STATUSES)
        self.change = self._doubles[:half]
        self.push = self._doubles[half:]

    @staticmethod
    def index(agent_id: int, status: int) -> int:
        return agent_id * len(STATUSES) + status

    def close(self) -> None:
        self.change.release()
        self.push.release()
        self._doubles.release()
        self._map.close()
        self._file.close()
