"""OpenMethods Connect API: send a PopFlow event to an agent's OpenMethods client.

Built from `openmethods-connect-api.txt` (docs/integrations.md says how to connect the real
service). `client.py` holds the wire format (routes, parameter names, the answers it reads);
`fake.py` is a local server written separately from the same document, for tests and the demo.
"""
