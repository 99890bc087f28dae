#!/usr/bin/python3
"""Unseal a gateway sealed file with an implementation independent of the gateway's own (python3-cryptography).

    /usr/bin/python3 test/support/unseal.py DATABASE_KEY_HEX SEALED_FILE OUT_FILE

Written from the format as README.md ("Data at rest") states it, not from the TypeScript code, so a test that
compares the two pins the documented format. Exits 2 with a message on any failed check.
"""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def fail(message):
    sys.stderr.write(message + "\n")
    sys.exit(2)


def main():
    db_key_hex, sealed_path, out_path = sys.argv[1:4]
    sealing_key = hkdf(bytes.fromhex(db_key_hex), b"", b"deid-gateway sealed spool and quarantine files v1", 32)
    data = open(sealed_path, "rb").read()
    header = data[:64]
    if len(header) < 64 or header[:8] != b"DGSEALED" or header[8] != 1:
        fail("not a version 1 sealed file")
    salt = header[16:48]
    okm = hkdf(sealing_key, salt, b"deid-gateway sealed file v1: chunk key and header key", 64)
    chunk_key, header_key = okm[:32], okm[32:]
    if not hmac.compare_digest(hmac.new(header_key, header[:48], hashlib.sha256).digest()[:16], header[48:64]):
        fail("header tag")
    chunk_size = 1 << header[9]
    body = data[64:]
    stride = chunk_size + 16
    chunks = max(1, -(-len(body) // stride))
    aes = AESGCM(chunk_key)
    out = bytearray()
    for i in range(chunks):
        sealed = body[i * stride:(i + 1) * stride]
        last = i == chunks - 1
        nonce = struct.pack(">QI", i, 1 if last else 0)
        try:
            out += aes.decrypt(nonce, sealed, None)
        except InvalidTag:
            fail("chunk %d" % i)
    with open(out_path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
