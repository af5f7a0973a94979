"""go-securesystemslib's `encrypted` format (cosign's private key files), written from its
description with pyca/cryptography's scrypt and PyNaCl's secretbox.

Usage:
  keyfile_reference.py open KEY_FILE MESSAGE_FILE
      decrypts KEY_FILE, signs MESSAGE_FILE with the key (ECDSA P-256/SHA-256 DER or Ed25519)
      and prints {"public_key_pem", "signature"} (signature in base64).
  keyfile_reference.py seal KEY_FILE ALGORITHM LOG_N
      generates a key (ecdsa-p256 or ed25519), writes it encrypted with scrypt N = 2^LOG_N and
      prints {"public_key_pem"}.
The passphrase comes from SLIPWAY_KEY_PASSPHRASE. A wrong passphrase exits 1.
"""

import base64
import json
import os
import sys

import nacl.exceptions
import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

LABELS = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")


def passphrase():
    return os.environ["SLIPWAY_KEY_PASSPHRASE"].encode()


def box_key(salt, n, r, p):
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase())


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def open_key(key_path, message_path):
    lines = open(key_path, encoding="ascii").read().strip().splitlines()
    label = lines[0].removeprefix("-----BEGIN ").removesuffix("-----")
    if label not in LABELS or lines[-1] != f"-----END {label}-----":
        sys.exit(f"unexpected PEM label {label!r}")
    body = json.loads(base64.b64decode("".join(lines[1:-1]), validate=True))
    assert body["kdf"]["name"] == "scrypt", body["kdf"]["name"]
    assert body["cipher"]["name"] == "nacl/secretbox", body["cipher"]["name"]
    params = body["kdf"]["params"]
    key = box_key(base64.b64decode(body["kdf"]["salt"]), params["N"], params["r"], params["p"])
    try:
        plaintext = nacl.secret.SecretBox(key).decrypt(
            base64.b64decode(body["ciphertext"]), base64.b64decode(body["cipher"]["nonce"])
        )
    except nacl.exceptions.CryptoError as error:
        print(f"decryption failed: {error}")
        sys.exit(1)
    private = serialization.load_der_private_key(plaintext, password=None)
    message = open(message_path, "rb").read()
    if isinstance(private, ec.EllipticCurvePrivateKey):
        assert isinstance(private.curve, ec.SECP256R1), private.curve.name
        signature = private.sign(message, ec.ECDSA(hashes.SHA256()))
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        signature = private.sign(message)
    else:
        sys.exit(f"unexpected key type {type(private).__name__}")
    print(json.dumps({
        "public_key_pem": public_pem(private),
        "signature": base64.b64encode(signature).decode(),
    }))


def seal_key(key_path, algorithm, log_n):
    if algorithm == "ecdsa-p256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        sys.exit(f"unknown algorithm {algorithm}")
    plaintext = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, nonce = os.urandom(32), os.urandom(24)
    n = 1 << log_n
    sealed = nacl.secret.SecretBox(box_key(salt, n, 8, 1)).encrypt(plaintext, nonce)
    body = json.dumps(
        {
            "kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1},
                    "salt": base64.b64encode(salt).decode()},
            "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
            "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
        },
        separators=(",", ":"),
    ).encode()
    encoded = base64.b64encode(body).decode()
    wrapped = "\n".join(encoded[i:i + 64] for i in range(0, len(encoded), 64))
    with open(key_path, "w", encoding="ascii") as file:
        file.write(f"-----BEGIN {LABELS[0]}-----\n{wrapped}\n-----END {LABELS[0]}-----\n")
    print(json.dumps({"public_key_pem": public_pem(private)}))


if sys.argv[1] == "open":
    open_key(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "seal":
    seal_key(sys.argv[2], sys.argv[3], int(sys.argv[4]))
else:
    sys.exit(f"unknown command {sys.argv[1]}")
