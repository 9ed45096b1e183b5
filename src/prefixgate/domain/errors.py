"""The domain error tree. The API maps each class to one HTTP status and code (api/errors.py)."""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "Conflict",
    "DomainError",
    "FeedGone",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "Unauthenticated",
]


class DomainError(Exception):
    """Base of every refusal the service layer can raise.

    `code` is a stable machine code (Cloudflare style, >= 1000); `message` says what to fix.
    """

    code: int = 1000

    def __init__(self, message: str, *, code: int | None = None, details: tuple[tuple[int, str], ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details  # further (code, message) pairs, e.g. one per refused edge IP


class InvalidInput(DomainError, ValueError):
    """The request is well-formed but breaks a rule about its values (HTTP 400)."""

    code = 1001


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it exists (HTTP 404)."""

    code = 1003


class Conflict(DomainError):
    """The change collides with existing state (HTTP 409)."""

    code = 1004


class FeedGone(DomainError):
    """The change feed cannot bring the caller forward from the revision it named: too old, or ahead of
    the head; it must reload the snapshot (HTTP 410)."""

    code = 2200


class Unauthenticated(DomainError):
    """No credential, or one that is unknown, revoked or malformed (HTTP 401)."""

    code = 10000


class AccessDenied(DomainError):
    """The caller is known but lacks the permission (HTTP 403)."""

    code = 9109


class RateLimited(DomainError):
    """Too many attempts in a short time; the caller must wait `retry_after_s` seconds (HTTP 429)."""

    code = 10429

    def __init__(self, message: str, *, retry_after_s: int, code: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s
