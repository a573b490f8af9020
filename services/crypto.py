"""Gateway tokens at rest: Fernet encryption under ENCRYPTION_KEYS, and a keyed fingerprint.

Encryption: ENCRYPTION_KEYS lists Fernet keys, newest first. The first key encrypts, every key
decrypts (MultiFernet), so a new key is deployed in front of the old ones, `paygraph rotate-keys`
re-encrypts every stored token and webhook endpoint secret under it, and only then is the old
key removed.

Fingerprint: saving the same token twice must find the first row, so the row carries a
deterministic value of the token. A bare hash would let anyone with the database confirm a guessed
token, so it is HMAC-SHA256, keyed with a key derived (HKDF-SHA256, own label) from a Fernet key:
ENCRYPTION_KEYS stays the only secret to manage, and a retired key takes its fingerprint key with
it. Rotation-safe because
- a new row is fingerprinted under the first key;
- a lookup asks for the fingerprints under every configured key, so rows written before a new key
  was put in front are still found;
- rotate-keys rewrites a row's ciphertext and fingerprint together, so once it has run no row
  depends on an older key, for decryption or for uniqueness, and the older keys can be dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_FINGERPRINT_LABEL = b"paygraph/saved-method-token-fingerprint/v1"


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What `rotate-keys` did to one kind of record (saved methods, webhook endpoints).
    `failed` lists the records it left as they were: no configured key decrypts them (or, for a
    saved method, its new fingerprint collides)."""

    scanned: int = 0
    rotated: int = 0
    current: int = 0
    changed_meanwhile: int = 0
    failed: list[str] = field(default_factory=list)


class UndecryptableToken(Exception):
    """No configured key decrypts this ciphertext (its key was removed, or it is corrupt)."""


def _fingerprint_key(fernet_key: str) -> bytes:
    raw = base64.urlsafe_b64decode(fernet_key.encode())
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_FINGERPRINT_LABEL)
    return hkdf.derive(raw)


class TokenVault:
    """Encrypts, decrypts and fingerprints gateway tokens. Never logs or returns a key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernets = [Fernet(key) for key in keys]
        self._multi = MultiFernet(self._fernets)
        self._fingerprint_keys = [_fingerprint_key(key) for key in keys]

    @classmethod
    def ephemeral(cls) -> TokenVault:
        """A vault under a key that lives as long as this process (development and test only)."""
        return cls([Fernet.generate_key().decode()])

    def encrypt(self, token: str) -> str:
        return self._multi.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._multi.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableToken("no configured key decrypts this token") from None

    def is_current(self, ciphertext: str) -> bool:
        """Whether the first (encrypting) key decrypts it: rotation has nothing to do."""
        try:
            self._fernets[0].decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: str) -> str:
        """The same token encrypted under the first key (its original timestamp is kept)."""
        try:
            return self._multi.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableToken("no configured key decrypts this token") from None

    def fingerprint(self, gateway: str, token: str) -> str:
        """The fingerprint a row written now carries: under the first key."""
        return self._hmac(self._fingerprint_keys[0], gateway, token)

    def fingerprints(self, gateway: str, token: str) -> list[str]:
        """The fingerprints the token may be stored under: one per configured key, first first."""
        return [self._hmac(key, gateway, token) for key in self._fingerprint_keys]

    @staticmethod
    def _hmac(key: bytes, gateway: str, token: str) -> str:
        message = gateway.encode() + b"\x00" + token.encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()
