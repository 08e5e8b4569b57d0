"""Genesys Cloud Open Messaging: watch one Open Messaging integration.

Built from `genesys-open-messaging.txt` and Genesys Cloud's public API conventions (the seed
names the pieces, not their wire shapes; docs/integrations.md lists what was assumed).
`client.py` reads the integration through the public API with an OAuth client-credentials
token; `webhook.py` checks and reads what Genesys posts to the integration's outbound
notification webhook; `fake.py` is a local Genesys for tests and the demo.
"""
