"""OneCloud CX Mobile/Web Messaging API v2: probe a chat entry point.

Built from `onecloud-mobile-web-messaging-api-v2.txt`. `client.py` holds the wire format (the
endpoint prefix, the Authorization scheme, the User-Agent, the error body and its codes);
`fake.py` is a local tenant for tests and the demo, written separately from the document.
"""
