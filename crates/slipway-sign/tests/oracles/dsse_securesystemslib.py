"""Verifies a DSSE envelope with securesystemslib.

Usage: dsse_securesystemslib.py ENVELOPE_JSON PUBLIC_KEY_PEM KEYID
Exit 0 and a JSON line when the envelope verifies with the key (threshold 1); exit 1 otherwise.
securesystemslib only tries keys whose keyid equals the signature's keyid, so KEYID is the key
id the signer wrote.
"""

import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

envelope_path, pem_path, keyid = sys.argv[1:4]
with open(envelope_path, "rb") as file:
    envelope = Envelope.from_dict(json.load(file))
with open(pem_path, "rb") as file:
    key = SSlibKey.from_crypto(load_pem_public_key(file.read()), keyid=keyid)
try:
    accepted = envelope.verify([key], 1)
except Exception as error:  # VerificationError, or a malformed signature
    print(f"not verified: {type(error).__name__}: {error}")
    sys.exit(1)
print(json.dumps({"scheme": key.scheme, "accepted": sorted(accepted)}))
