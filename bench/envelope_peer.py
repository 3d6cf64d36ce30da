"""Peer for caravan-envelope's crypto_bench: the same operations in Python's
`cryptography` (OpenSSL) and `pyhpke`, on the same machine, so BENCHMARKS.md can report
ratios rather than bare numbers.

    pip install cryptography pyhpke
    python3 bench/envelope_peer.py ops
    python3 bench/envelope_peer.py stream 1000000000

Each figure is the median of five rounds. Differences from the Rust side, all in the
peer's favour: Ed25519 signs the 1 KiB message itself, not a COSE Sig_structure around
it; the streamed part reuses one random 1 MiB segment instead of generating the data.
"""

import hashlib
import os
import statistics
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyhpke import AEADId, CipherSuite, KDFId, KEMId

ROUNDS = 5
SEGMENT = 1 << 20


def median_rate(n, op):
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            op()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def ops():
    message = b"\x42" * 1024
    signing = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
    verifying = signing.public_key()
    signature = signing.sign(message)
    sign = median_rate(2000, lambda: signing.sign(message))
    verify = median_rate(2000, lambda: verifying.verify(signature, message))

    suite = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES128_GCM)
    recipient = suite.kem.derive_key_pair(b"\x04" * 32)
    info = b"caravan/v1 message benchmark"

    def hpke_seal():
        enc, sender = suite.create_sender_context(recipient.public_key, info=info)
        sender.seal(message, aad=b"aad")

    enc, sender = suite.create_sender_context(recipient.public_key, info=info)
    ciphertext = sender.seal(message, aad=b"aad")

    def hpke_open():
        receiver = suite.create_recipient_context(enc, recipient.private_key, info=info)
        receiver.open(ciphertext, aad=b"aad")

    seal = median_rate(2000, hpke_seal)
    opened = median_rate(2000, hpke_open)
    print("operation,per_second")
    print(f"ed25519_sign_1KiB,{sign:.0f}")
    print(f"ed25519_verify_1KiB,{verify:.0f}")
    print(f"hpke_setup_seal_1KiB,{seal:.0f}")
    print(f"hpke_setup_open_1KiB,{opened:.0f}")


def stream(total):
    """STREAM-equivalent work per segment: AES-128-GCM seal with a counter nonce and
    the part aad, SHA-256 of the plaintext and of the ciphertext."""
    aead = AESGCM(b"\x09" * 16)
    segment = os.urandom(SEGMENT)
    aad = b"\x01" * 32 + b"evidence"
    count = (total + SEGMENT - 1) // SEGMENT
    rates = []
    for _ in range(3):
        plain_hash, cipher_hash = hashlib.sha256(), hashlib.sha256()
        start = time.perf_counter()
        for n in range(count):
            last = n == count - 1
            nonce = n.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
            plain_hash.update(segment)
            sealed = aead.encrypt(nonce, segment, aad)
            cipher_hash.update(sealed)
        rates.append(count * SEGMENT / 1e6 / (time.perf_counter() - start))
    print("operation,MB_per_second")
    print(f"part_seal_only_{total}B,{statistics.median(rates):.0f}")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "ops"
    if mode == "ops":
        ops()
    else:
        stream(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000_000)
