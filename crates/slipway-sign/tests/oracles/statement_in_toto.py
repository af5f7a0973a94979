"""Parses and validates an in-toto Statement v1 with the in-toto-attestation Python bindings.

Usage: statement_in_toto.py STATEMENT_JSON
The JSON goes through protobuf's json_format (unknown fields are errors) into the Statement
message, then Statement.validate() checks _type, subjects and their digests, predicateType and
predicate. Exit 0 when valid, 1 otherwise.
"""

import sys

from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement

with open(sys.argv[1], encoding="utf-8") as file:
    text = file.read()
try:
    message = json_format.Parse(text, statement_pb2.Statement())
    Statement.copy_from_pb(message).validate()
except Exception as error:  # json_format.ParseError or ValueError from validate()
    print(f"invalid: {type(error).__name__}: {error}")
    sys.exit(1)
print(f"valid: {len(message.subject)} subject(s), predicateType {message.predicate_type}")
