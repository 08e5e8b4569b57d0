"""CCAI Platform Custom CRM: the dashboard as a CCAI Platform tenant's Custom CRM.

Built from `ccai-platform-custom-crm.txt`. Here CCAI Platform is the client and the dashboard
the server: `generic_api.py` holds the wire format of the Generic API as CCAI sends it
(authentication, request data formats, response data locations, phone formats, the lookup
URL's variables); `metadata.py` reads the session metadata files CCAI pushes to external
storage; `fake.py` is a local CCAI tenant that calls the endpoints and writes those files.
"""
