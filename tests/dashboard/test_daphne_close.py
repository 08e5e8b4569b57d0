"""dashboard.daphne_close: daphne sends the registered close codes instead of raising on them.
The whole path (a slow page closed with 1013 by a real daphne) is in
tests/e2e/test_scaleout.py; this checks the patch itself, in a fresh interpreter, since
daphne.server installs Twisted's reactor when imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys
    from dashboard.daphne_close import allow_registered_close_codes

    assert allow_registered_close_codes() is False      # daphne is not the server here
    import daphne.server  # noqa: F401
    from daphne.ws_protocol import WebSocketProtocol
    assert allow_registered_close_codes() is True
    assert allow_registered_close_codes() is True       # twice: still one patch

    class Socket(WebSocketProtocol):
        def __init__(self):
            self.frames = []
        def sendCloseFrame(self, code=None, reasonUtf8=None, isReply=False):
            self.frames.append(code)

    socket = Socket()
    for code in (1013, 1001, 4401, None):
        socket.serverClose(code)
    print(socket.frames)
    try:
        socket.serverClose(1005)   # not one a server sends: autobahn still refuses it
    except Exception as exc:
        print("refused", "1005" in str(exc))
""")


def test_daphne_sends_try_again_later_and_keeps_refusing_reserved_codes() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[1013, 1001, 4401, 1000]", "refused True"]
