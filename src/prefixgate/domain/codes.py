"""Stable error codes. One place, so the README table and the code cannot drift."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Code"]


class Code(IntEnum):
    """Machine codes carried in the Cloudflare envelope's `errors[].code`."""

    INVALID_BODY = 1000
    INVALID_FIELD = 1001
    REQUEST_TOO_LARGE = 1002
    NOT_FOUND = 1003
    CONFLICT = 1004
    INVALID_PAGINATION = 1005
    INVALID_CIDR = 1100
    NON_CANONICAL_CIDR = 1101
    NON_PUBLIC_PREFIX = 1102
    PREFIX_TOO_SPECIFIC = 1103
    PREFIX_OVERLAP = 1104
    PREFIX_NOT_DELETABLE = 1105
    INVALID_ASN = 1106
    DELEGATION_OUTSIDE_PREFIX = 1200
    DELEGATION_TO_OWNER = 1201
    DELEGATION_EXISTS = 1202
    UNKNOWN_DELEGATED_ACCOUNT = 1203
    MEMBER_EXISTS = 1300
    UNKNOWN_USER = 1301
    UNKNOWN_ROLE = 1302
    LAST_ADMINISTRATOR = 1303
    TOKEN_POLICIES_UNSUPPORTED = 1400
    INVALID_IP = 1500
    NO_ROUTE = 7000
    METHOD_NOT_ALLOWED = 7001
    INVALID_ACCESS_TOKEN = 9109
    FORBIDDEN = 9109  # Cloudflare uses 9109 for a bad token and for a missing permission
    AUTHENTICATION_ERROR = 10000
    SERVICE_UNAVAILABLE = 10503
    INTERNAL_ERROR = 10500
