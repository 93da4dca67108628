"""Callback ids are capabilities: they name an execution and operation and carry a secret only they hold.

Layout (URL-safe base64, no padding): version byte, 2-byte key length, journal key, 32-byte operation id,
20 bytes (160 bits) of secret randomness. The journal stores only a keyed hash of the secret; comparison is
constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

_VERSION = 1
_SECRET_BYTES = 20
_OP_ID_BYTES = 32
_MAX_ID_LENGTH = 1024


class MalformedCallbackId(ValueError):  # noqa: N818 - read as "the id is malformed"
    """The id cannot be a callback id: wrong alphabet, length or layout."""


@dataclass(frozen=True)
class CallbackCapability:
    """A decoded callback id."""

    journal_key: str
    operation_id: str
    secret: bytes

    def encode(self) -> str:
        """The id as handed to external systems."""
        key = self.journal_key.encode()
        raw = bytes([_VERSION]) + len(key).to_bytes(2, "big") + key + bytes.fromhex(self.operation_id) + self.secret
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def public_reference(self) -> str:
        """Names the callback (for the history) without the secret: it cannot complete anything."""
        return self.encode()[: -_encoded_length(_SECRET_BYTES)] + "~redacted"

    @property
    def secret_hash(self) -> str:
        """What the journal stores instead of the secret."""
        return secret_hash(self.secret)

    def matches(self, stored_hashes: list[str]) -> bool:
        """Constant-time check of this id's secret against every hash stored for the callback."""
        mine = self.secret_hash.encode()
        found = False
        for stored in stored_hashes:
            found |= hmac.compare_digest(mine, stored.encode())
        return found


def _encoded_length(byte_count: int) -> int:
    # Characters the last `byte_count` bytes take at the end of an unpadded base64 string (the header and key
    # before them are not always a multiple of three bytes, so this is a safe upper bound on what to cut).
    return (byte_count * 4 + 2) // 3


def secret_hash(secret: bytes) -> str:
    """A keyed (personalised) blake2b hash of a callback secret."""
    return hashlib.blake2b(secret, digest_size=32, person=b"dk-callback-id").hexdigest()


def issue(journal_key: str, operation_id: str) -> CallbackCapability:
    """A new capability with fresh secret randomness."""
    return CallbackCapability(journal_key, operation_id, secrets.token_bytes(_SECRET_BYTES))


def decode(callback_id: str) -> CallbackCapability:
    """Decode an id, raising MalformedCallbackId for anything that is not one."""
    if not isinstance(callback_id, str) or not 0 < len(callback_id) <= _MAX_ID_LENGTH:
        raise MalformedCallbackId("callback id has the wrong length")
    try:
        raw = base64.urlsafe_b64decode(callback_id + "=" * (-len(callback_id) % 4))
    except (binascii.Error, ValueError):
        raise MalformedCallbackId("callback id is not URL-safe base64") from None
    if len(raw) < 3 or raw[0] != _VERSION:
        raise MalformedCallbackId("callback id has an unknown version")
    key_length = int.from_bytes(raw[1:3], "big")
    expected = 3 + key_length + _OP_ID_BYTES + _SECRET_BYTES
    if len(raw) != expected:
        raise MalformedCallbackId("callback id is truncated or padded")
    try:
        key = raw[3 : 3 + key_length].decode()
    except UnicodeDecodeError:
        raise MalformedCallbackId("callback id names no execution") from None
    op_start = 3 + key_length
    operation_id = raw[op_start : op_start + _OP_ID_BYTES].hex()
    return CallbackCapability(key, operation_id, raw[op_start + _OP_ID_BYTES :])
