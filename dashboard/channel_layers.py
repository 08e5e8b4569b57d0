"""The in-memory channel layer (one process, no REDIS_URL), with per-channel capacities.

Channels' InMemoryChannelLayer takes `channel_capacity` but never compiles its patterns, and
then fails on every send and receive ("too many values to unpack"): channels_redis compiles
them itself. The patterns are compiled here, as the base class's own helper does.
"""

from __future__ import annotations

from typing import Any

from channels.layers import InMemoryChannelLayer as _InMemoryChannelLayer


class InMemoryChannelLayer(_InMemoryChannelLayer):
    def __init__(self, *, channel_capacity: dict[str, int] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
