"""Fixtures shared by the dashboard's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.layers import get_channel_layer


@pytest.fixture
async def layer() -> AsyncIterator[Any]:
    """The channel layer, emptied before and after (no other test's requests or batches)."""
    channel_layer = get_channel_layer()
    await channel_layer.flush()
    yield channel_layer
    await channel_layer.flush()
