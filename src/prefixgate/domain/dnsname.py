"""DNS names: validation and normalisation (lower case, no trailing dot)."""

from __future__ import annotations

import re

from .codes import Code
from .errors import InvalidInput

__all__ = ["is_within", "parse_hostname"]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def parse_hostname(
    text: str, *, what: str = "name", allow_wildcard: bool = False, code: int = Code.INVALID_FIELD
) -> str:
    """Return the normalised name, or raise InvalidInput naming what is wrong.

    Rules: ASCII (IDNs in their xn-- form), labels of 1-63 letters, digits or hyphens not at
    either end, at least two labels, 253 characters at most; `*.` first when wildcards are allowed.
    """
    name = text.strip().lower().removesuffix(".")
    if name != text.lower().removesuffix(".") or not name.isascii():
        raise InvalidInput(f"{what} {text!r} is not a valid DNS name (ASCII only, no spaces)", code=code)
    labels = name.split(".")
    if allow_wildcard and labels[0] == "*":
        labels = labels[1:]
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(f"{what} {text!r} is not a valid DNS name", code=code)
    if labels[-1].isdigit():
        raise InvalidInput(f"{what} {text!r} looks like an IP address, not a DNS name", code=code)
    return name


def is_within(name: str, zone: str) -> bool:
    """True when `name` is the zone apex or a name below it."""
    return name == zone or name.endswith("." + zone)
