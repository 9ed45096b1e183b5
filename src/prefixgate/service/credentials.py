"""Secrets: generated here, stored only as hashes.

API tokens and global API keys are long random values, so one SHA-256 is enough to store
them safely and lets every request find its token with one index probe. Passwords are
chosen by people, so they get argon2id, which is memory-hard.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["digest", "hash_password", "new_api_key", "new_token_value", "same_digest", "verify_password"]

_hasher = PasswordHasher()


def new_token_value() -> str:
    """40 URL-safe characters, like a Cloudflare API token."""
    return secrets.token_urlsafe(30)


def new_api_key() -> str:
    """37 lowercase hex characters, like a Cloudflare global API key."""
    return secrets.token_hex(19)[:37]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_digest(value: str, stored: str | None) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    return stored is not None and hmac.compare_digest(digest(value), stored)


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(password: str, stored: str | None) -> bool:
    if stored is None:
        return False
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False
