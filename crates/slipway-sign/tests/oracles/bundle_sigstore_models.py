"""Parses a Sigstore bundle with sigstore-python's protobuf-specs models (sigstore_models).

Usage: bundle_sigstore_models.py BUNDLE_JSON
The models forbid unknown fields and check enum values and base64 fields. Exit 0 and a summary
when the bundle parses, 1 otherwise. (sigstore-python itself cannot load key-based bundles: its
Bundle requires a certificate and a transparency-log entry.)
"""

import sys

from sigstore_models.bundle.v1 import Bundle

with open(sys.argv[1], encoding="utf-8") as file:
    text = file.read()
try:
    bundle = Bundle.from_json(text)
except Exception as error:  # pydantic ValidationError
    print(f"invalid: {type(error).__name__}: {error}")
    sys.exit(1)
content = "dsseEnvelope" if bundle.dsse_envelope else "messageSignature"
print(f"parsed: {bundle.media_type}, hint {bundle.verification_material.public_key.hint}, {content}")
