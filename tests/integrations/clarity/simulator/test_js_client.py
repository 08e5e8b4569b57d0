"""Microsoft's official JavaScript SignalR client against the simulator's hub.

The hub must work with any standards-compliant client, not only the Python ones the project
uses. `make test` installs the pinned client with `npm ci` in the js/ folder beside this file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx

from integrations.clarity.simulator.server import SimulatorThread

from .conftest import TokenFactory

JS = Path(__file__).parent / "js"


def test_the_official_javascript_client_connects_and_receives_updates(
        simulator: SimulatorThread, token: TokenFactory) -> None:
    node = shutil.which("node")
    assert node, "node is needed for this test (make test installs it with the client)"
    assert (JS / "node_modules" / "@microsoft" / "signalr").is_dir(), "run: make jsdeps"
    bearer = token("supervisor")
    process = subprocess.Popen([node, "hub_client.mjs", simulator.sim.hub_url, bearer, "2"],
                               cwd=JS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        hello = json.loads(process.stdout.readline())
        # The JS client negotiates version 1 and would use SSE or long polling if offered.
        assert hello["transport"] == "WebSocketTransport"
        response = httpx.post(f"{simulator.url}/webapi/api/v2/subscriptions/queues?queueIds=1,2",
                              json={"connectionId": hello["connectionId"]},
                              headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
        assert response.status_code == 200, response.text
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    updates = [json.loads(line)["update"] for line in out.splitlines() if line.strip()]
    assert process.returncode == 0, err
    assert updates[0]["isSnapshot"] is True and updates[0]["sequence"] == 1
    assert {i["id"] for i in updates[0]["items"]} == {1, 2}
    assert updates[1]["sequence"] == 2
