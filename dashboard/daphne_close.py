"""Let daphne close a socket with the registered code 1013, "try again later".

RFC 6455 leaves close codes to the IANA registry, which gives 1013 to "try again later": what a
page that stayed too far behind is told (docs/browser-protocol.md). Daphne closes through
autobahn's `sendClose`, which accepts only 1000 and 3000-4999 and raises on anything else,
leaving the socket open. For the registered codes a server may send, daphne's close goes out
as the close frame itself (autobahn's `sendCloseFrame`, which `sendClose` ends in anyway).
"""

from __future__ import annotations

import sys
from typing import Any

# 1001 going away, 1008 policy violation, 1011 internal error, 1012 service restart,
# 1013 try again later.
SERVER_CLOSE_CODES = frozenset({1001, 1008, 1011, 1012, 1013})


def allow_registered_close_codes() -> bool:
    """Patch daphne's close, if daphne is the server running. True when it is patched.

    Only when daphne.server is already imported: it installs Twisted's asyncio reactor on
    import, and importing Twisted's protocols first would install the default one instead."""
    if "daphne.server" not in sys.modules:
        return False
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.serverClose
    if getattr(original, "registered_codes", False):
        return True

    def serverClose(self: Any, code: int | None = None) -> None:
        if code in SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    serverClose.registered_codes = True  # type: ignore[attr-defined]
    WebSocketProtocol.serverClose = serverClose
    return True
